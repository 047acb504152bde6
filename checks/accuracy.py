"""The accuracy checks beyond the two identities, in the order they run.

Structure first (ids, statement membership, hierarchies), then coverage of the range, the
account-level roll-forward, the cash basis, class and department totals, budget periods,
decimal places, and the reconciliation with ``--expected``.
"""

from __future__ import annotations

from checks.amounts import amount_checks
from checks.budget_periods import budget_period_checks
from checks.cash_basis import cash_basis_checks
from checks.coverage import coverage_checks
from checks.reconcile import reconcile_checks
from checks.rollforward import rollforward_checks
from checks.segments import segment_checks
from checks.structure import structure_checks
from reach_dq.runner import Check


def accuracy_checks() -> list[Check]:
    return [
        *structure_checks(),
        *coverage_checks(),
        *rollforward_checks(),
        *cash_basis_checks(),
        *segment_checks(),
        *budget_period_checks(),
        *amount_checks(),
        *reconcile_checks(),
    ]
