"""Formatting checks: every 2xx body of a data operation against the OpenAPI document.

The rules come only from ``context.spec``: which fields are required, their types, formats and
enums. Nothing here lists a field of the Reach API, so a different document passed with
``--spec`` changes what these checks expect with no code change. The dataset list and the
operationIds come from ``reach_dq.datasets``; an operationId that the document lacks is looked
up by method and path instead.

Both checks return one finding per dataset and company (no company for user_info):

- ``contract.response_schema``: failed when a body breaks its response schema or is not JSON at
  all (NaN and Infinity included), passed when every body was checked and is clean.
- ``contract.extra_fields``: a warning when a body carries fields the document does not declare.

A dataset and company without any 2xx body is not_evaluated, with the statuses that came back.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import re
import weakref
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import orjson

from reach_dq.contract.compiled import CleanCheck, compile_clean_check
from reach_dq.contract.conformance import (
    InvalidBodyError,
    Violation,
    extra_fields,
    parse_body,
    validate_body,
)
from reach_dq.contract.decoder import CleanDecoder, compile_clean_decoder
from reach_dq.contract.spec import Spec
from reach_dq.datasets import BY_NAME, BY_OPERATION, DATASETS, Dataset
from reach_dq.exceptions import ContractError
from reach_dq.findings import (
    MAX_FAILURE_CASES,
    Category,
    FailureCase,
    Finding,
    Outcome,
    count_of,
    request_scope,
)
from reach_dq.runner import Check, CheckContext

if TYPE_CHECKING:
    import duckdb

log = logging.getLogger(__name__)

CHECK_RESPONSE_SCHEMA = "contract.response_schema"
CHECK_EXTRA_FIELDS = "contract.extra_fields"

_FETCH_SIZE = 64  # bodies read from DuckDB at a time, so a large snapshot is never all in memory

_BODIES_SQL = """
SELECT e.exchange_id, e.operation_id, e.company_id, e.basis, e.budget_id, e.class_id,
       e.department_id, e.method, e.path, e.status_code, r.body
FROM http_exchanges AS e
JOIN raw_responses AS r ON r.snapshot_id = e.snapshot_id AND r.exchange_id = e.exchange_id
WHERE e.snapshot_id = ?
  AND e.status_code BETWEEN 200 AND 299
  AND list_contains(?, e.operation_id)
ORDER BY e.exchange_id
"""

_STATUSES_SQL = """
SELECT DISTINCT operation_id, company_id, status_code
FROM http_exchanges
WHERE snapshot_id = ?
ORDER BY ALL
"""


def formatting_checks() -> list[Check]:
    """Return the checks that compare every stored 2xx body with the OpenAPI document.

    Both checks read the same bodies, so they share one pass. Whichever runs first parses and
    checks every body for both, and the other builds its findings from that pass.
    """
    datasets = tuple(dataset.name for dataset in DATASETS)
    shared = _SharedPass()
    return [
        Check(CHECK_RESPONSE_SCHEMA, Category.FORMATTING, datasets,
              functools.partial(shared.findings, check=CHECK_RESPONSE_SCHEMA)),
        Check(CHECK_EXTRA_FIELDS, Category.FORMATTING, datasets,
              functools.partial(shared.findings, check=CHECK_EXTRA_FIELDS)),
    ]


@dataclasses.dataclass(frozen=True)
class _Exchange:
    exchange_id: int
    operation_id: str
    company_id: str | None
    basis: str | None
    budget_id: str | None
    class_id: str | None
    department_id: str | None
    method: str
    path: str
    status_code: int
    body: str

    @property
    def request(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def scope(self) -> str | None:
        return request_scope(self.budget_id, self.class_id, self.department_id)


@dataclasses.dataclass
class _Tally:
    """Counts and failure cases of one check over the bodies of one dataset and company."""

    dataset: Dataset
    company_id: str | None
    responses: int = 0  # 2xx bodies read
    checked: int = 0  # bodies evaluated: parsed and validated, or found unparsable
    items: int = 0
    broken_items: set[tuple[Any, ...]] = dataclasses.field(default_factory=set)
    broken_responses: set[int] = dataclasses.field(default_factory=set)  # outside any item
    unparsable: int = 0  # bodies that are not JSON, or contain NaN or Infinity
    violations: int = 0
    cases: list[FailureCase] = dataclasses.field(default_factory=list)
    first: str | None = None
    names: dict[str, None] = dataclasses.field(default_factory=dict)  # undeclared field paths
    skipped: list[str] = dataclasses.field(default_factory=list)  # why a body was not checked

    @property
    def label(self) -> str:
        if self.company_id is None:
            return self.dataset.name
        return f"{self.dataset.name} for {self.company_id}"

    def add_case(self, case: FailureCase, message: str) -> None:
        self.violations += 1
        if self.first is None:
            self.first = message
        if len(self.cases) < MAX_FAILURE_CASES:
            self.cases.append(case)


# --- one pass over the bodies for both checks --------------------------------------------

_Tallies = dict[tuple[str, str | None], _Tally]


class _SharedPass:
    """Read and check every body once, and hand each of the two checks its own tallies.

    The tallies of the check that has not run yet are kept, for the same context object only,
    until that check runs. A context is held weakly, so a finished run frees its connection.
    NOTE: a caller that changes the snapshot between the two checks of one context gets the
    second check's findings as of the first check.
    """

    def __init__(self) -> None:
        self._context: weakref.ref[CheckContext] | None = None
        self._pending: dict[str, _Tallies] = {}

    def findings(self, context: CheckContext, *, check: str) -> Iterator[Finding]:
        tallies = self._tallies(context, check)
        if check == CHECK_RESPONSE_SCHEMA:
            yield from _findings(context, tallies, check, _schema_finding)
        else:
            yield from _findings(context, tallies, check, _extra_fields_finding)

    def _tallies(self, context: CheckContext, check: str) -> _Tallies:
        same_context = self._context is not None and self._context() is context
        if same_context and check in self._pending:
            return self._pending.pop(check)

        schema_tallies, extra_tallies = _check_bodies(context)
        both = {CHECK_RESPONSE_SCHEMA: schema_tallies, CHECK_EXTRA_FIELDS: extra_tallies}
        self._context = weakref.ref(context)
        self._pending = {name: tallies for name, tallies in both.items() if name != check}
        return both[check]


def _check_bodies(context: CheckContext) -> tuple[_Tallies, _Tallies]:
    """Parse each 2xx body once and count it for contract.response_schema and extra_fields."""
    schema_tallies: _Tallies = {}
    extra_tallies: _Tallies = {}
    clean_checks = _CleanChecks(context.spec)
    for exchange in _exchanges(context):
        key = _group_key(exchange)
        if key not in schema_tallies:
            dataset = BY_NAME[key[0]]
            schema_tallies[key] = _Tally(dataset, key[1])
            extra_tallies[key] = _Tally(dataset, key[1])
        _check_exchange(
            context.spec, exchange, schema_tallies[key], extra_tallies[key], clean_checks
        )
    for key, schema_tally in schema_tallies.items():
        log.debug("%s: %d violations and %d undeclared fields in %d responses",
                  schema_tally.label, schema_tally.violations, extra_tallies[key].violations,
                  schema_tally.responses)
    return schema_tallies, extra_tallies


class _CleanChecks:
    """The clean-body tests of each operation and status, compiled on first use."""

    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self._compiled: dict[tuple[str, int, bool], CleanCheck | None] = {}
        self._decoders: dict[tuple[str, int], CleanDecoder | None] = {}

    def clean_items(self, operation_id: str, status: int, text: str) -> int | None:
        """Return the item count of a body that msgspec finds clean, else None.

        None means only that the other tests must decide. Raises ContractError when the
        document has no JSON schema for the response.
        """
        key = (operation_id, status)
        if key not in self._decoders:
            schema = self.spec.response_schema(operation_id, status)
            self._decoders[key] = compile_clean_decoder(schema)
        decoder = self._decoders[key]
        return None if decoder is None else decoder(text)

    def is_clean(self, operation_id: str, status: int, body: Any, *, floats: bool = False) -> bool:
        """Return True when the body surely breaks no rule and has no undeclared field.

        ``floats`` says the body's non-integer numbers were parsed as ``float``. False means
        only that the full validation must decide. Raises ContractError when the document has
        no JSON schema for the response.
        """
        key = (operation_id, status, floats)
        if key not in self._compiled:
            schema = self.spec.response_schema(operation_id, status)
            self._compiled[key] = compile_clean_check(schema, floats=floats)
        check = self._compiled[key]
        return check is not None and check(body)


def _quick_parse(text: str) -> Any:
    """Parse a body with orjson, or return _UNPARSED when the full parse must do it.

    orjson parses about twice as fast as ``json`` with Decimal numbers, but it reads non-integer
    numbers as floats, and integers beyond 64 bits as well. A body that orjson rejects (NaN, a
    lone surrogate, nesting deeper than 1024 levels, text that is not JSON) goes to
    ``parse_body``, whose errors name the place.
    """
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return _UNPARSED


_UNPARSED = object()


def _check_exchange(
    spec: Spec,
    exchange: _Exchange,
    schema_tally: _Tally,
    extra_tally: _Tally,
    clean_checks: _CleanChecks,
) -> None:
    schema_tally.responses += 1
    extra_tally.responses += 1
    if _is_quickly_clean(spec, exchange, clean_checks, schema_tally, extra_tally):
        return
    try:
        body = parse_body(exchange.body)
    except InvalidBodyError as exc:
        _record_parse_failure(exchange, exc.violation, schema_tally)
        extra_tally.skipped.append(f"{exchange.request}: {exc.violation.message}")
        return

    try:
        operation_id = _operation_id(spec, exchange)
        violations: list[Violation] = []
        undeclared: list[Violation] = []
        if not clean_checks.is_clean(operation_id, exchange.status_code, body):
            violations = validate_body(spec, operation_id, body, status=exchange.status_code)
            undeclared = extra_fields(spec, operation_id, body, status=exchange.status_code)
    except ContractError as exc:
        schema_tally.skipped.append(str(exc))
        extra_tally.skipped.append(str(exc))
        return

    _record_violations(exchange, body, violations, schema_tally)
    _record_undeclared(exchange, body, undeclared, extra_tally)


def _is_quickly_clean(
    spec: Spec,
    exchange: _Exchange,
    clean_checks: _CleanChecks,
    schema_tally: _Tally,
    extra_tally: _Tally,
) -> bool:
    """Count a body that msgspec, or orjson and the float-aware compiled check, finds clean."""
    try:
        operation_id = _operation_id(spec, exchange)
        items = clean_checks.clean_items(operation_id, exchange.status_code, exchange.body)
        if items is None:
            body = _quick_parse(exchange.body)
            if body is _UNPARSED or not clean_checks.is_clean(
                operation_id, exchange.status_code, body, floats=True
            ):
                return False
            items = _item_count(body)
    except ContractError:
        return False  # the full path reports it
    for tally in (schema_tally, extra_tally):
        tally.checked += 1
    schema_tally.items += items
    return True


# --- contract.response_schema ------------------------------------------------------------


def _record_violations(
    exchange: _Exchange, body: Any, violations: list[Violation], tally: _Tally
) -> None:
    tally.checked += 1
    tally.items += _item_count(body)
    for violation in violations:
        item_key = _item_key(body, violation.path)
        if item_key is None:
            tally.broken_responses.add(exchange.exchange_id)
        else:
            tally.broken_items.add((exchange.exchange_id, *item_key))
        case = _case(tally, exchange, _item(body, item_key), violation)
        tally.add_case(case, violation.message)


def _record_parse_failure(exchange: _Exchange, violation: Violation, tally: _Tally) -> None:
    tally.checked += 1
    tally.unparsable += 1
    message = f"{exchange.request}: {violation.message}"
    case = FailureCase(
        company_id=tally.company_id,
        basis=exchange.basis,
        scope=exchange.scope,
        field=violation.field,
        expected=violation.rule,
        actual=message,
    )
    tally.add_case(case, message)


def _schema_finding(tally: _Tally) -> Finding:
    outcome = Outcome.FAILED if tally.violations else Outcome.PASSED
    if tally.violations:
        message = f"{tally.label}: {_broken_summary(tally)}; first: {tally.first}"
    else:
        message = (
            f"{tally.label}: no violations in {count_of(tally.checked, 'response')} "
            f"with {count_of(tally.items, 'item')}"
        )
    return _finding(CHECK_RESPONSE_SCHEMA, tally, outcome, message + _skipped_note(tally))


def _broken_summary(tally: _Tally) -> str:
    parts = []
    if tally.broken_items or not (tally.broken_responses or tally.unparsable):
        parts.append(f"{len(tally.broken_items)} of {tally.items} items break the contract")
    if tally.broken_responses:
        parts.append(
            f"{len(tally.broken_responses)} of {tally.responses} responses break the contract "
            "outside their items"
        )
    if tally.unparsable:
        parts.append(f"{tally.unparsable} of {tally.responses} responses are not valid JSON")
    summary = ", ".join(parts)
    broken = len(tally.broken_items) + len(tally.broken_responses) + tally.unparsable
    if tally.violations > broken:
        # An item can break several rules: failure_count counts the violations.
        summary += f" ({tally.violations} violations)"
    return summary


# --- contract.extra_fields ---------------------------------------------------------------


def _record_undeclared(
    exchange: _Exchange, body: Any, undeclared: list[Violation], tally: _Tally
) -> None:
    tally.checked += 1
    for violation in undeclared:
        tally.names.setdefault(re.sub(r"\[\d+\]", "[]", violation.location))
        case = _case(tally, exchange, _item(body, _item_key(body, violation.path)), violation)
        tally.add_case(case, violation.message)


def _extra_fields_finding(tally: _Tally) -> Finding:
    if tally.violations:
        outcome = Outcome.WARNING
        message = (
            f"{tally.label}: {count_of(tally.violations, 'value')} in fields the contract does "
            f"not declare: {', '.join(tally.names)}; first: {tally.first}"
        )
    else:
        outcome = Outcome.PASSED
        message = f"{tally.label}: no undeclared fields in {count_of(tally.checked, 'response')}"
    return _finding(CHECK_EXTRA_FIELDS, tally, outcome, message + _skipped_note(tally))


# --- shared: reading bodies and building findings ----------------------------------------


def _exchanges(context: CheckContext) -> Iterator[_Exchange]:
    """Yield the 2xx exchanges of the data operations in request order, a batch at a time.

    The bodies come through a cursor of their own, so the caller may query the connection
    while it iterates. Sorting by the exchange id alone keeps each dataset and company's
    bodies in request order, and is cheaper than grouping them, which moves every body.
    """
    operation_ids = [dataset.operation_id for dataset in DATASETS]
    cursor = context.connection.cursor()
    try:
        cursor.execute(_BODIES_SQL, [context.snapshot_id, operation_ids])
        for rows in _batches(cursor):
            yield from (_Exchange(*row) for row in rows)
    finally:
        cursor.close()


def _batches(cursor: duckdb.DuckDBPyConnection) -> Iterator[list[tuple[Any, ...]]]:
    while rows := cursor.fetchmany(_FETCH_SIZE):
        yield rows


def _group_key(exchange: _Exchange) -> tuple[str, str | None]:
    dataset = BY_OPERATION[exchange.operation_id]
    return dataset.name, exchange.company_id if dataset.per_company else None


def _findings(
    context: CheckContext,
    tallies: dict[tuple[str, str | None], _Tally],
    check: str,
    build: Callable[[_Tally], Finding],
) -> Iterator[Finding]:
    """Yield a finding per tally, and not_evaluated for each dataset and company without one.

    The companies are those of any exchange of the snapshot, so a company whose request for a
    dataset failed, or was never made, still gets a finding for that dataset.
    """
    statuses = _statuses(context)
    companies = {company for (_, company) in statuses if company is not None}

    for dataset in DATASETS:
        expected = companies if dataset.per_company and companies else {None}
        found = {company for (name, company) in tallies if name == dataset.name}
        for company_id in sorted(expected | found, key=_company_order):
            tally = tallies.get((dataset.name, company_id))
            if tally is None:
                yield _no_bodies(check, dataset, company_id, statuses)
            elif tally.checked == 0:
                reason = tally.skipped[0] if tally.skipped else "no body was read"
                message = f"{tally.label}: no response could be checked: {reason}"
                yield _finding(check, tally, Outcome.NOT_EVALUATED, message)
            else:
                yield build(tally)


def _company_order(company_id: str | None) -> tuple[bool, str]:
    return company_id is not None, company_id or ""


def _statuses(context: CheckContext) -> dict[tuple[str, str | None], list[str]]:
    """Return the statuses of every exchange, per dataset and company, 'no response' for none."""
    rows = context.connection.execute(_STATUSES_SQL, [context.snapshot_id]).fetchall()
    statuses: dict[tuple[str, str | None], list[str]] = {}
    for operation_id, company_id, status_code in rows:
        dataset = BY_OPERATION.get(operation_id)
        if dataset is None:
            key = ("", company_id)  # not a dataset, but its company was fetched
        else:
            key = (dataset.name, company_id if dataset.per_company else None)
        text = "no response" if status_code is None else str(status_code)
        statuses.setdefault(key, [])
        if text not in statuses[key]:
            statuses[key].append(text)
    return statuses


def _no_bodies(
    check: str,
    dataset: Dataset,
    company_id: str | None,
    statuses: dict[tuple[str, str | None], list[str]],
) -> Finding:
    seen = statuses.get((dataset.name, company_id))
    reason = f"statuses received: {', '.join(seen)}" if seen else "no request was recorded"
    label = dataset.name if company_id is None else f"{dataset.name} for {company_id}"
    message = f"{label}: no 2xx response body to check ({reason})"
    return Finding(check, Category.FORMATTING, dataset.name, Outcome.NOT_EVALUATED, message,
                   company_id=company_id)


def _finding(check: str, tally: _Tally, outcome: Outcome, message: str) -> Finding:
    return Finding(
        check=check,
        category=Category.FORMATTING,
        dataset=tally.dataset.name,
        outcome=outcome,
        message=message,
        company_id=tally.company_id,
        failure_count=tally.violations,
        failure_cases=tuple(tally.cases),
    )


def _skipped_note(tally: _Tally) -> str:
    if not tally.skipped:
        return ""
    return f"; {count_of(len(tally.skipped), 'response')} not checked: {tally.skipped[0]}"


def _operation_id(spec: Spec, exchange: _Exchange) -> str:
    """Return the document's operationId for an exchange, by operationId or by method and path."""
    if exchange.operation_id in spec.operations:
        return exchange.operation_id
    operation = spec.match(exchange.method, exchange.path)
    if operation is None:
        raise ContractError(
            f"the OpenAPI document {str(spec.source)!r} has no operation "
            f"{exchange.operation_id!r} and none matching {exchange.method} "
            f"{exchange.path.split('?')[0]}"
        )
    return operation.operation_id


# --- items of a body ---------------------------------------------------------------------


def _item_count(body: Any) -> int:
    """Count the items of a body: the elements of its top-level arrays, else the body itself."""
    if isinstance(body, list):
        return len(body)
    if isinstance(body, dict):
        lists = [value for value in body.values() if isinstance(value, list)]
        return sum(len(value) for value in lists) if lists else 1
    return 0


def _item_key(body: Any, path: tuple[str | int, ...]) -> tuple[str | int, ...] | None:
    """Return the item a body path falls in; ``()`` is the body as its own item, None outside."""
    if isinstance(body, list):
        return path[:1] if path and isinstance(path[0], int) else None
    if not isinstance(body, dict):
        return None
    if not any(isinstance(value, list) for value in body.values()):
        return ()
    if len(path) >= 2 and isinstance(body.get(path[0]), list) and isinstance(path[1], int):
        return path[:2]
    return None


def _item(body: Any, key: tuple[str | int, ...] | None) -> Any:
    if key is None:
        return None
    item = body
    for part in key:
        item = item[part]
    return item


def _case(tally: _Tally, exchange: _Exchange, item: Any, violation: Violation) -> FailureCase:
    account_field, date_field = _locating_fields(tally.dataset)
    account_id = date = None
    if isinstance(item, dict):
        if account_field and isinstance(item.get(account_field), str):
            account_id = item[account_field]
        if date_field and isinstance(item.get(date_field), str):
            date = item[date_field]
    return FailureCase(
        company_id=tally.company_id,
        account_id=account_id,
        date=date,
        basis=exchange.basis,
        scope=exchange.scope,
        field=violation.field,
        expected=violation.rule,
        actual=violation.value,
    )


def _locating_fields(dataset: Dataset) -> tuple[str | None, str | None]:
    """Return the API fields that hold the account id and the date of a dataset's items."""
    fields = {column.name: column.field for column in dataset.columns}
    return fields.get("account_id"), fields.get("date")
