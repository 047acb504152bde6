"""Named faults of the reference partner server, merged from one module per family.

See ``base.py`` for how a fault works. A new family is a module with a tuple of ``Fault``
entries, added to ``FAMILIES`` below.
"""

from __future__ import annotations

from collections.abc import Iterable

from reach_dq.partner.faults.accuracy import ACCURACY_FAULTS
from reach_dq.partner.faults.base import Body, Fault, FaultRequest, apply_faults
from reach_dq.partner.faults.base import resolve_faults as _resolve
from reach_dq.partner.faults.contract import CONTRACT_FAULTS
from reach_dq.partner.faults.golive import GOLIVE_FAULTS
from reach_dq.partner.faults.monitoring import MONITORING_FAULTS
from reach_dq.partner.faults.transport import TRANSPORT_FAULTS

FAMILIES: tuple[tuple[Fault, ...], ...] = (
    CONTRACT_FAULTS, GOLIVE_FAULTS, TRANSPORT_FAULTS, MONITORING_FAULTS, ACCURACY_FAULTS
)

FAULTS: dict[str, Fault] = {fault.name: fault for family in FAMILIES for fault in family}


def resolve_faults(names: Iterable[str]) -> tuple[Fault, ...]:
    """Return the named faults in order without repeats; raise ConfigError for an unknown name."""
    return _resolve(names, FAULTS)


__all__ = ["FAULTS", "Body", "Fault", "FaultRequest", "apply_faults", "resolve_faults"]
