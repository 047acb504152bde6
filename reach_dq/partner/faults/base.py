"""Named faults that make the partner server break the contract on purpose, one at a time.

Each fault changes the response body of the operations it lists, and only when it is named in
the server configuration. Targets are deterministic: the target company is the first company in
CompanyId order, and the target month is the month end three months before the last month of
the books (books ending in April give January).

Faults live in one module per family (``contract.py`` for bodies that break the contract or
the books); ``reach_dq.partner.faults`` merges the families into ``FAULTS``. To add a fault, add
one ``Fault`` entry to its family's tuple. Its ``apply`` function receives the
request and the response body (plain dicts and lists, amounts as ``Decimal``, dates as ``date``)
and returns the body to send. It may instead return a Starlette ``Response``, which then
replaces the whole response; HTTP-level faults (status codes, content types, delays) use that.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any

from starlette.responses import Response

from reach_dq.exceptions import ConfigError
from reach_dq.partner.books import Books

Body = dict[str, Any]


@dataclasses.dataclass(frozen=True)
class FaultRequest:
    """The request a fault may react to, with the books it is served from."""

    operation_id: str
    books: Books
    target_company: bool
    target_month: dt.date
    basis: str | None = None
    budget_id: str | None = None
    class_id: str | None = None
    department_id: str | None = None
    start_date: dt.date | None = None
    end_date: dt.date | None = None

    @property
    def filtered(self) -> bool:
        filters = (self.budget_id, self.class_id, self.department_id)
        return any(value is not None for value in filters)


FaultEffect = Callable[[FaultRequest, Body], "Body | Response"]


def _unchanged(request: FaultRequest, body: Body) -> Body:
    return body


@dataclasses.dataclass(frozen=True)
class Fault:
    name: str
    description: str  # one sentence: what the server does wrong, and where exactly
    operation_ids: tuple[str, ...] = ()  # operations whose responses the fault may change
    apply: FaultEffect = dataclasses.field(default=_unchanged, repr=False, compare=False)


def resolve_faults(names: Iterable[str], registry: dict[str, Fault]) -> tuple[Fault, ...]:
    """Return the named faults in order without repeats; raise ConfigError for an unknown name."""
    faults: list[Fault] = []
    for name in names:
        fault = registry.get(name)
        if fault is None:
            valid = ", ".join(sorted(registry))
            raise ConfigError(f"unknown fault {name!r}; expected one of {valid}")
        if fault not in faults:
            faults.append(fault)
    return tuple(faults)


def apply_faults(faults: Iterable[Fault], request: FaultRequest, body: Body) -> Body | Response:
    """Apply every active fault that covers the request's operation, in configuration order."""
    result: Body | Response = body
    for fault in faults:
        if request.operation_id in fault.operation_ids and not isinstance(result, Response):
            result = fault.apply(request, result)
    return result
