"""Check response bodies against the JSON schemas of an OpenAPI document.

Bodies are parsed with money as ``decimal.Decimal``, so the validator here counts a Decimal as
a JSON number (and an integral Decimal as an integer, as JSON Schema does for ``1.0``), never a
bool. ``format: date`` is asserted: a date must match ``YYYY-MM-DD`` and be a real calendar date.

Two kinds of findings come out of this module: ``validate_body`` lists what breaks the schema
(a failure), ``extra_fields`` lists fields the schema does not declare (a warning, because the
published pages disagree on whether an extra field is allowed).
"""

from __future__ import annotations

import dataclasses
import decimal
import json
import logging
import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import jsonschema
import jsonschema.validators
from jsonschema import Draft202012Validator, ValidationError

from reach_dq.contract.compiled import is_json_integer, is_multiple_of
from reach_dq.contract.spec import Spec
from reach_dq.exceptions import ContractError

log = logging.getLogger(__name__)

MAX_VALUE_CHARS = 80

ROOT = "$"  # location of the body itself

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

_FORMAT_RULES = {
    "date": "format date (YYYY-MM-DD)",
    "date-time": "format date-time (RFC 3339)",
}


@dataclasses.dataclass(frozen=True)
class Violation:
    """One place where a body breaks the contract."""

    location: str  # JSON path in the body, e.g. "Data[3].Date"; "$" for the body itself
    field: str | None  # the last field name on the path, e.g. "Date"
    value: str | None  # JSON text of the offending value, truncated; None when it is missing
    rule: str  # what the schema expects, e.g. "format date (YYYY-MM-DD)" or "required"
    message: str  # one sentence naming the place, the value and the expectation
    path: tuple[str | int, ...] = ()  # the location as keys and indexes


class InvalidBodyError(ContractError):
    """A response body that is not JSON, or that contains NaN or Infinity."""

    def __init__(self, violation: Violation) -> None:
        super().__init__(violation.message)
        self.violation = violation


def parse_body(text: str) -> Any:
    """Parse a JSON body with every non-integer number as ``decimal.Decimal``.

    Raises InvalidBodyError when the text is not JSON, with the line, column and character
    position in the message. It also raises when the text contains NaN, Infinity or -Infinity,
    which Python's json module accepts but JSON does not, with the location in the body.
    """
    non_finite: list[_NonFinite] = []

    def reject_constant(literal: str) -> _NonFinite:
        marker = _NonFinite(literal)
        non_finite.append(marker)
        return marker

    try:
        body = json.loads(text, parse_float=decimal.Decimal, parse_constant=reject_constant)
    except json.JSONDecodeError as exc:
        raise InvalidBodyError(_invalid_json(text, exc)) from exc
    except RecursionError as exc:
        raise InvalidBodyError(
            _unparsable(text, "the body is nested too deeply to parse as JSON")
        ) from exc
    except ValueError as exc:  # e.g. an integer beyond Python's digit limit for int()
        message = f"the body cannot be parsed as JSON: {exc}"
        raise InvalidBodyError(_unparsable(text, message)) from exc

    if non_finite:
        raise InvalidBodyError(_non_finite_violation(body, non_finite[0]))
    return body


def check_body(
    spec: Spec, operation_id: str, body_text: str, *, status: int = 200
) -> list[Violation]:
    """Parse a body and list what breaks the schema of the ``status`` response.

    A body that cannot be parsed yields one violation with the reason. Fields that the schema
    does not declare are not violations here, because ``extra_fields`` lists them.
    """
    try:
        body = parse_body(body_text)
    except InvalidBodyError as exc:
        return [exc.violation]
    return validate_body(spec, operation_id, body, status=status)


def validate_body(
    spec: Spec, operation_id: str, body: Any, *, status: int = 200
) -> list[Violation]:
    """List what breaks the schema of the ``status`` response of an operation.

    Violations are ordered by location: array indexes in order, field names alphabetically.
    Raises ContractError when the document has no such operation or no JSON schema for it.
    """
    schema = spec.response_schema(operation_id, status)
    validator = _Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    violations = _collect(_violations(error) for error in validator.iter_errors(body))
    log.debug("%s %s: %d violations", operation_id, status, len(violations))
    return violations


def extra_fields(
    spec: Spec, operation_id: str, body: Any, *, status: int = 200
) -> list[Violation]:
    """List the fields of a parsed body that the ``status`` response schema does not declare.

    An object is checked only where its schema lists ``properties`` and leaves
    ``additionalProperties`` and ``unevaluatedProperties`` unset: an explicit ``false`` already
    makes the field a schema violation, and an explicit schema or ``true`` declares a map whose
    keys are data. Keys matching ``patternProperties`` count as declared.
    """
    schema = spec.response_schema(operation_id, status)
    finder = _UndeclaredFinder(schema)
    found: list[Violation] = []
    finder.walk(schema, body, (), found)
    return sorted(found, key=lambda violation: _path_key(violation.path))


def format_location(path: Sequence[str | int]) -> str:
    """Write a body path as ``Data[3].Date``; the body itself is ``$``."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        elif _IDENTIFIER.fullmatch(part):
            text += f".{part}" if text else part
        else:
            text += f"[{json.dumps(part, ensure_ascii=False)}]"
    return text or ROOT


def value_text(value: Any) -> str:
    """Write a parsed JSON value as JSON text, cut to about ``MAX_VALUE_CHARS`` characters."""
    chunks: list[str] = []
    size = 0
    for chunk in _json_chunks(value):
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_VALUE_CHARS:
            break
    return _truncate("".join(chunks))


# --- validator -------------------------------------------------------------------------------


def _is_integer(checker: Any, instance: Any) -> bool:
    return is_json_integer(instance)


def _multiple_of(
    validator: Any, divisor: Any, instance: Any, schema: Any
) -> Iterator[ValidationError]:
    """Check multipleOf exactly; a float divisor such as 0.01 is read as its decimal text."""
    if validator.is_type(instance, "number") and not is_multiple_of(instance, divisor):
        yield ValidationError(f"{instance!r} is not a multiple of {divisor}")


_Validator = jsonschema.validators.extend(
    Draft202012Validator,
    validators={"multipleOf": _multiple_of},
    type_checker=Draft202012Validator.TYPE_CHECKER.redefine("integer", _is_integer),
)


# --- violations from validation errors -------------------------------------------------------


def _violations(error: ValidationError) -> Iterator[Violation]:
    path = tuple(error.absolute_path)
    if error.validator == "required":
        yield from _missing(error, path)
    elif error.validator == "additionalProperties" and error.validator_value is False:
        yield from _disallowed(error, path)
    elif error.validator in ("anyOf", "oneOf") and error.context:
        yield from _alternatives(error, path)
    else:
        yield _violation(path, error.instance, _rule(error))


def _missing(error: ValidationError, path: tuple[str | int, ...]) -> Iterator[Violation]:
    owner = "the body" if not path else format_location(path)
    for name in error.validator_value:
        if isinstance(error.instance, dict) and name not in error.instance:
            field_path = (*path, name)
            yield Violation(
                location=format_location(field_path),
                field=name,
                value=None,
                rule="required",
                message=f"{owner} is missing required field {name!r}",
                path=field_path,
            )


def _disallowed(error: ValidationError, path: tuple[str | int, ...]) -> Iterator[Violation]:
    declared = error.schema.get("properties", {})
    patterns = list(error.schema.get("patternProperties", {}))
    for key, value in error.instance.items():
        if key in declared or any(re.search(pattern, key) for pattern in patterns):
            continue
        yield _violation((*path, key), value, "no undeclared fields (additionalProperties false)")


def _alternatives(error: ValidationError, path: tuple[str | int, ...]) -> Iterator[Violation]:
    """Describe a value that matches none of the alternatives of an anyOf or oneOf.

    An alternative whose type fits the value is the one the partner most likely meant, so its
    failures are reported (the one with the fewest when several fit). When no alternative's
    type fits, the rule lists the types the alternatives accept.
    """
    branches: dict[Any, list[ValidationError]] = {}
    for sub in error.context:
        branches.setdefault(sub.relative_schema_path[0], []).append(sub)
    fitting = [
        errors
        for errors in branches.values()
        if not any(sub.validator == "type" and not sub.relative_path for sub in errors)
    ]
    if fitting:
        for sub in min(fitting, key=len):
            yield from _violations(sub)
        return

    types: list[str] = []
    for sub in error.context:
        if sub.validator == "type" and not sub.relative_path:
            expected = sub.validator_value
            types.extend([expected] if isinstance(expected, str) else expected)
    yield _violation(path, error.instance, "type " + " or ".join(dict.fromkeys(types)))


def _violation(path: tuple[str | int, ...], value: Any, rule: str) -> Violation:
    location = format_location(path)
    subject = "the body" if not path else location
    text = value_text(value)
    return Violation(
        location=location,
        field=_last_field(path),
        value=text,
        rule=rule,
        message=f"{subject} is {text}, expected {rule}",
        path=path,
    )


def _rule(error: ValidationError) -> str:
    keyword, expected = error.validator, error.validator_value
    if keyword == "type":
        types = [expected] if isinstance(expected, str) else list(expected)
        return "type " + " or ".join(types)
    if keyword == "format":
        return _FORMAT_RULES.get(expected, f"format {expected}")
    if keyword == "enum":
        return "one of " + ", ".join(_plain_text(member) for member in expected)
    if keyword == "const":
        return f"const {value_text(expected)}"
    if keyword == "exclusiveMinimum":
        return f"greater than {expected}"
    if keyword == "exclusiveMaximum":
        return f"less than {expected}"
    if keyword == "uniqueItems":
        return "unique items"
    if keyword == "oneOf":
        return "exactly one of the oneOf alternatives"
    if keyword == "anyOf":
        return "one of the anyOf alternatives"
    if keyword == "not":
        return "a value the 'not' schema rejects"
    if keyword is None or keyword is False:
        return "no value (the schema is false)"
    return _truncate(f"{keyword} {_plain_text(expected)}")


def _collect(groups: Iterable[Iterable[Violation]]) -> list[Violation]:
    """Flatten, and drop violations that repeat another one at the same location.

    A wrong type makes every other rule on that value moot (an enum or a range), and a failed
    ``format`` already covers a failed ``pattern`` beside it.
    """
    unique: dict[tuple[str, str], Violation] = {}
    for group in groups:
        for violation in group:
            unique.setdefault((violation.location, violation.rule), violation)

    mistyped = {v.location for v in unique.values() if v.rule.startswith("type ")}
    formatted = {v.location for v in unique.values() if v.rule.startswith("format ")}
    kept = [
        violation
        for violation in unique.values()
        if not (violation.location in mistyped and not violation.rule.startswith("type "))
        and not (violation.location in formatted and violation.rule.startswith("pattern "))
    ]
    return sorted(kept, key=lambda violation: _path_key(violation.path))


# --- undeclared fields -----------------------------------------------------------------------


class _UndeclaredFinder:
    """Walk a body beside its schema and collect fields that no ``properties`` declares."""

    def __init__(self, root: dict[str, Any]) -> None:
        self.root = root
        self.validator = _Validator(root, format_checker=Draft202012Validator.FORMAT_CHECKER)

    def walk(
        self,
        schema: Any,
        instance: Any,
        path: tuple[str | int, ...],
        found: list[Violation],
    ) -> None:
        schemas = self._applicable(schema, instance)
        if isinstance(instance, dict):
            self._check_object(schemas, instance, path, found)
        elif isinstance(instance, list):
            for index, item in enumerate(instance):
                for item_schema in self._item_schemas(schemas, index):
                    self.walk(item_schema, item, (*path, index), found)

    def _applicable(self, schema: Any, instance: Any) -> list[dict[str, Any]]:
        """Return the schema and every subschema that applies to the same value."""
        if not isinstance(schema, dict):
            return []
        schema = self._deref(schema)
        result = [schema]
        for branch in schema.get("allOf", []):
            result.extend(self._applicable(branch, instance))
        for keyword in ("anyOf", "oneOf"):
            branches = schema.get(keyword, [])
            matching = [branch for branch in branches if self._is_valid(branch, instance)]
            for branch in matching or branches:
                result.extend(self._applicable(branch, instance))
        return result

    def _check_object(
        self,
        schemas: list[dict[str, Any]],
        instance: dict[str, Any],
        path: tuple[str | int, ...],
        found: list[Violation],
    ) -> None:
        described = any("properties" in schema for schema in schemas)
        open_ended = any(
            "additionalProperties" in schema or "unevaluatedProperties" in schema
            for schema in schemas
        )
        for key, value in instance.items():
            declared = [schema["properties"][key] for schema in schemas
                        if key in schema.get("properties", {})]
            patterned = [sub for schema in schemas
                         for pattern, sub in schema.get("patternProperties", {}).items()
                         if re.search(pattern, key)]
            if described and not open_ended and not declared and not patterned:
                found.append(_undeclared(path, key, value))
                continue
            for sub in declared + patterned:
                self.walk(sub, value, (*path, key), found)

    @staticmethod
    def _item_schemas(schemas: list[dict[str, Any]], index: int) -> list[Any]:
        result = []
        for schema in schemas:
            prefix = schema.get("prefixItems", [])
            if index < len(prefix):
                result.append(prefix[index])
            elif isinstance(schema.get("items"), dict):
                result.append(schema["items"])
        return result

    def _deref(self, schema: dict[str, Any]) -> dict[str, Any]:
        seen: set[str] = set()
        while isinstance(schema.get("$ref"), str) and schema["$ref"].startswith("#/$defs/"):
            ref = schema["$ref"]
            if ref in seen:
                return {}
            seen.add(ref)
            name = ref.removeprefix("#/$defs/")
            schema = self.root.get("$defs", {}).get(name, {})
        return schema

    def _is_valid(self, schema: Any, instance: Any) -> bool:
        if isinstance(schema, dict) and "$defs" not in schema and "$defs" in self.root:
            schema = {**schema, "$defs": self.root["$defs"]}
        return self.validator.evolve(schema=schema).is_valid(instance)


def _undeclared(path: tuple[str | int, ...], key: str, value: Any) -> Violation:
    owner = "the body" if not path else format_location(path)
    field_path = (*path, key)
    text = value_text(value)
    return Violation(
        location=format_location(field_path),
        field=key,
        value=text,
        rule="only fields the contract declares",
        message=f"{owner} has field {key!r}, which the contract does not declare (value {text})",
        path=field_path,
    )


# --- parse failures --------------------------------------------------------------------------


class _NonFinite:
    """Placeholder for NaN, Infinity or -Infinity while a body is parsed."""

    def __init__(self, literal: str) -> None:
        self.literal = literal


def _invalid_json(text: str, exc: json.JSONDecodeError) -> Violation:
    start = max(0, exc.pos - 30)
    snippet = ("…" if start else "") + text[start : start + MAX_VALUE_CHARS]
    return Violation(
        location=ROOT,
        field=None,
        value=_truncate(json.dumps(snippet, ensure_ascii=False)),
        rule="valid JSON",
        message=(
            f"the body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno} "
            f"(char {exc.pos})"
        ),
    )


def _unparsable(text: str, message: str) -> Violation:
    return Violation(
        location=ROOT,
        field=None,
        value=_truncate(json.dumps(text[:MAX_VALUE_CHARS], ensure_ascii=False)),
        rule="JSON within the parser's limits",
        message=message,
    )


def _non_finite_violation(body: Any, first: _NonFinite) -> Violation:
    found = _find_non_finite(body)
    if found is None:  # a repeated key replaced the value, so only the literal is known
        return Violation(
            location=ROOT,
            field=None,
            value=first.literal,
            rule="finite number",
            message=f"the body contains {first.literal}, which is not valid JSON; expected a "
            "finite number",
        )

    path, marker = found
    location = format_location(path)
    subject = "the body" if not path else location
    return Violation(
        location=location,
        field=_last_field(path),
        value=marker.literal,
        rule="finite number",
        message=f"{subject} is {marker.literal}, which is not valid JSON; expected a finite number",
        path=path,
    )


def _find_non_finite(body: Any) -> tuple[tuple[str | int, ...], _NonFinite] | None:
    """Return the first NaN or Infinity marker of a parsed body, in document order."""
    stack: list[tuple[tuple[str | int, ...], Any]] = [((), body)]
    while stack:
        path, node = stack.pop()
        if isinstance(node, _NonFinite):
            return path, node
        if isinstance(node, dict):
            children = [((*path, key), value) for key, value in node.items()]
        elif isinstance(node, list):
            children = [((*path, index), value) for index, value in enumerate(node)]
        else:
            continue
        stack.extend(reversed(children))
    return None


# --- text helpers ----------------------------------------------------------------------------


def _json_chunks(value: Any) -> Iterator[str]:
    """Yield the JSON text of a value piece by piece, so a long value can be cut early."""
    if isinstance(value, dict):
        yield "{"
        for position, (key, item) in enumerate(value.items()):
            yield (", " if position else "") + json.dumps(key, ensure_ascii=False) + ": "
            yield from _json_chunks(item)
        yield "}"
    elif isinstance(value, list):
        yield "["
        for position, item in enumerate(value):
            if position:
                yield ", "
            yield from _json_chunks(item)
        yield "]"
    elif isinstance(value, decimal.Decimal):
        yield str(value)
    elif isinstance(value, _NonFinite):
        yield value.literal
    else:
        yield json.dumps(value, ensure_ascii=False)


def _plain_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "[" + ", ".join(_plain_text(item) for item in value) + "]"
    return value_text(value)


def _truncate(text: str) -> str:
    if len(text) <= MAX_VALUE_CHARS:
        return text
    return text[: MAX_VALUE_CHARS - 1] + "…"


def _last_field(path: Sequence[str | int]) -> str | None:
    for part in reversed(path):
        if isinstance(part, str):
            return part
    return None


def _path_key(path: Sequence[str | int]) -> tuple[tuple[int, int, str], ...]:
    return tuple((0, part, "") if isinstance(part, int) else (1, 0, part) for part in path)
