"""The checks a validate run applies to the warehouse, in the order they run."""

from __future__ import annotations

from checks.formatting import formatting_checks
from checks.identities import identity_checks
from checks.reliability import reliability_checks
from checks.schemas import schema_checks
from reach_dq.runner import Check


def warehouse_checks() -> list[Check]:
    return [*reliability_checks(), *formatting_checks(), *schema_checks(), *identity_checks()]
