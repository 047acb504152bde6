"""Shared state of the partner server's routes: the companies, the tokens and the active faults."""

from __future__ import annotations

import dataclasses

from fastapi import HTTPException, Request

from reach_dq.partner.auth import TokenStore
from reach_dq.partner.faults import Fault
from reach_dq.partner.faults.golive import ISOLATION_BREACH
from reach_dq.partner.statements import Statements


@dataclasses.dataclass(frozen=True)
class PartnerState:
    companies: dict[str, Statements]  # by CompanyId, in CompanyId order; every customer's
    tokens: TokenStore
    faults: tuple[Fault, ...]
    # Companies of the main customer (the configured and issued tokens); None means all of them.
    main_company_ids: tuple[str, ...] | None = None

    @property
    def target_company_id(self) -> str:
        """The company that faults target: the first in CompanyId order."""
        return next(iter(self.companies))

    def readable_companies(self, token: str) -> tuple[str, ...]:
        """Return the ids of the companies an accepted ``token`` may read, in CompanyId order."""
        scoped = self.tokens.customer_companies(token)
        if scoped is not None:
            return tuple(company for company in self.companies if company in scoped)
        if self.main_company_ids is None:
            return tuple(self.companies)
        return self.main_company_ids

    def fault_active(self, name: str) -> bool:
        return any(fault.name == name for fault in self.faults)


def partner_state(request: Request) -> PartnerState:
    state: PartnerState = request.app.state.partner
    return state


def require_token(request: Request) -> str:
    """Return the request's ``Authorization: Bearer`` token, or raise a 401 unless it is accepted."""
    header = request.headers.get("authorization")
    if header is None:
        raise _unauthorized("missing Authorization header; expected 'Bearer <access token>'")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthorized("the Authorization header must use the Bearer scheme with a token")
    if not partner_state(request).tokens.accepts(token.strip()):
        raise _unauthorized("the access token is invalid or expired")
    return token.strip()


def _unauthorized(message: str) -> HTTPException:
    return HTTPException(status_code=401, detail=message, headers={"WWW-Authenticate": "Bearer"})


def company_statements(company_id: str, request: Request) -> Statements:
    """Check the token, then return the company's statements or raise a 404.

    A company of another customer gets the same 404 as an unknown one, so a token cannot learn
    which companies exist. The isolation-breach fault turns that scope check off.
    """
    token = require_token(request)
    state = partner_state(request)
    statements = state.companies.get(company_id)
    in_scope = company_id in state.readable_companies(token)
    if not in_scope and not state.fault_active(ISOLATION_BREACH):
        statements = None
    if statements is None:
        raise HTTPException(
            status_code=404,
            detail=f"unknown CompanyId {company_id!r}; expected one listed by /oauth2/user-info",
        )
    return statements
