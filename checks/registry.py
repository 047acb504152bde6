"""The checks a validate run applies to the warehouse, in the order they run."""

from __future__ import annotations

from checks.accuracy import accuracy_checks
from checks.formatting import formatting_checks
from checks.freshness import freshness_checks
from checks.identities import identity_checks
from checks.operations import operation_checks
from checks.pagination import pagination_checks
from checks.reliability import reliability_checks
from checks.schemas import schema_checks
from reach_dq.runner import Check


def warehouse_checks() -> list[Check]:
    return [
        *reliability_checks(),
        *operation_checks(),
        *formatting_checks(),
        *pagination_checks(),
        *schema_checks(),
        *identity_checks(),
        *accuracy_checks(),
        *freshness_checks(),
    ]
