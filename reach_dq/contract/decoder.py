"""Compile a response schema into a msgspec decoder that accepts only clean bodies.

A statement body contains hundreds of thousands of rows. Parsing it into Python objects and then
walking them costs more than the rest of the contract check. So ``compile_clean_decoder``
turns the schema into msgspec types instead. msgspec then parses the text and checks each value
in one pass of compiled code, without building a dict per row.

The decoder answers the same question as ``reach_dq.contract.compiled``: does the body break
no rule and carry no field that the schema does not declare? It may turn down a clean body
(the slower checks then decide), but it accepts a body only when ``validate_body`` and
``extra_fields`` would both find nothing. So only forms whose msgspec meaning is the JSON
Schema meaning are compiled:

- ``string`` with minLength, maxLength and pattern (msgspec searches the pattern, as
  jsonschema does), ``format: date`` (msgspec's date is the RFC 3339 full-date, which the
  jsonschema date check accepts too), and an enum of strings;
- ``integer``, with bounds and an integral multipleOf, which are exact on integers. msgspec
  turns down ``2.0``, which JSON Schema counts as an integer; the slower checks accept it;
- ``number`` without bounds or multipleOf: any JSON number;
- ``boolean``, ``null``, a type list of one of these and ``null``;
- arrays with items, minItems and maxItems, and objects with properties and required. An
  object that declares properties takes no other field, because ``extra_fields`` would list it.

Any other keyword the validator acts on (anyOf, const, a bound on a number, ...) leaves the
schema without a decoder, and its bodies take the slower checks.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import logging
from collections.abc import Callable
from typing import Annotated, Any, Literal, Union

import msgspec
from jsonschema import Draft202012Validator

from reach_dq.contract.compiled import is_json_integer

log = logging.getLogger(__name__)

# The text of a body -> its item count when the body is surely clean, else None.
CleanDecoder = Callable[[str], int | None]

_VALIDATING_KEYWORDS = frozenset(Draft202012Validator.VALIDATORS)
_COMPILED = frozenset(
    {
        "type", "enum", "format", "minLength", "maxLength", "pattern",
        "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf",
        "required", "properties", "additionalProperties", "items", "minItems", "maxItems",
    }
)
_SCALARS: dict[str, Any] = {"integer": int, "number": float, "boolean": bool, "null": None}
_BOUNDS = {"minimum": "ge", "maximum": "le", "exclusiveMinimum": "gt", "exclusiveMaximum": "lt"}
# Patterns that every RFC 3339 full-date matches, so a date field may carry them.
_DATE_PATTERNS = frozenset({r"^\d{4}-\d{2}-\d{2}$", r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"})
_MAX_DEPTH = 64  # nesting beyond this is left to the slower checks


def compile_clean_decoder(schema: Any) -> CleanDecoder | None:
    """Return a decoder that gives a clean body's item count and None for any other body.

    The item count is what the contract check counts: the elements of a body's top-level
    arrays, 1 for an object without any, the length of a body that is an array.
    Returns None when the schema uses a form this module does not compile.
    """
    try:
        body_type = _Types().of(schema, depth=0)
        decoder = msgspec.json.Decoder(body_type)
    except (_UnsupportedError, TypeError, ValueError) as exc:  # msgspec rejects some types
        log.debug("no msgspec decoder for this schema: %s", exc)
        return None

    def clean_items(text: str) -> int | None:
        try:
            body = decoder.decode(text)
        except (msgspec.ValidationError, msgspec.DecodeError):
            return None
        return _item_count(body)

    return clean_items


class _UnsupportedError(Exception):
    """A schema form that ``compile_clean_decoder`` does not translate."""


@dataclasses.dataclass
class _Types:
    """Build the msgspec type of a schema; each object becomes a Struct of its own."""

    counter: itertools.count = dataclasses.field(default_factory=itertools.count)

    def of(self, schema: Any, *, depth: int) -> Any:
        if depth > _MAX_DEPTH:
            raise _UnsupportedError("nesting too deep")
        if schema is True:
            return Any
        if not isinstance(schema, dict):
            raise _UnsupportedError(f"a schema that is {schema!r}")
        unsupported = sorted(set(schema) & _VALIDATING_KEYWORDS - _COMPILED)
        if unsupported:
            raise _UnsupportedError(f"keywords {unsupported}")
        kinds = _declared_types(schema)
        if kinds is None:
            return Any
        kind = next((k for k in kinds if k != "null"), "null")
        base = self._one_type(kind, schema, depth)
        # A null passes ["x", "null"] unless an enum without null turns it down.
        nullable = len(kinds) == 2 and None in schema.get("enum", [None])
        return Union[base, None] if nullable else base

    def _one_type(self, kind: str, schema: dict[str, Any], depth: int) -> Any:
        _require_only(schema, kind)
        if kind == "string":
            return _string_type(schema)
        if kind == "integer":
            return _integer_type(schema)
        if kind == "array":
            items = self.of(schema.get("items", True), depth=depth + 1)
            return _annotated(list[items], schema, {"minItems": "min_length",
                                                    "maxItems": "max_length"})
        if kind == "object":
            return self._object_type(schema, depth)
        return _SCALARS[kind]

    def _object_type(self, schema: dict[str, Any], depth: int) -> Any:
        properties = schema.get("properties")
        additional = schema.get("additionalProperties")
        if additional not in (None, True, False):
            raise _UnsupportedError("additionalProperties with a schema")
        if properties is None:
            if additional is False:
                raise _UnsupportedError("an object that allows no field")
            return dict[str, Any]
        required = schema.get("required", [])
        if not isinstance(properties, dict) or not isinstance(required, list):
            raise _UnsupportedError("properties or required of the wrong type")
        if not set(required) <= set(properties):
            raise _UnsupportedError("a required field without a property schema")
        fields = []
        for index, (name, subschema) in enumerate(properties.items()):
            value_type = self.of(subschema, depth=depth + 1)
            if name in required:
                fields.append((f"f{index}", value_type, msgspec.field(name=name)))
            else:
                fields.append((f"f{index}", Union[value_type, msgspec.UnsetType],
                               msgspec.field(name=name, default=msgspec.UNSET)))
        return msgspec.defstruct(
            f"Object{next(self.counter)}",
            fields,
            # A field that no property declares is a violation or an undeclared field.
            forbid_unknown_fields=additional is not True,
            gc=False,  # decoded JSON contains no reference cycles
        )


def _declared_types(schema: dict[str, Any]) -> list[str] | None:
    """Return the declared type as a list, such as ``["string", "null"]``.

    Return None for a schema without ``type`` and without any other compiled keyword.
    """
    declared = schema.get("type")
    if declared is None:
        if set(schema) & _COMPILED:
            raise _UnsupportedError("keywords without a type")
        return None
    kinds = [declared] if isinstance(declared, str) else declared
    if not isinstance(kinds, list) or len(set(kinds)) != len(kinds) or not kinds:
        raise _UnsupportedError(f"type {declared!r}")
    if len(kinds) == 2 and "null" in kinds or len(kinds) == 1:
        known = {"string", "integer", "number", "boolean", "null", "array", "object"}
        if set(kinds) <= known:
            return kinds
    raise _UnsupportedError(f"type {declared!r}")


def _require_only(schema: dict[str, Any], kind: str) -> None:
    """Raise unless every compiled keyword of the schema applies to ``kind``."""
    allowed = {
        "string": {"enum", "format", "minLength", "maxLength", "pattern"},
        "integer": {*_BOUNDS, "multipleOf"},
        "array": {"items", "minItems", "maxItems"},
        "object": {"required", "properties", "additionalProperties"},
    }.get(kind, set())
    extra = set(schema) & _COMPILED - {"type"} - allowed
    if extra:
        raise _UnsupportedError(f"keywords {sorted(extra)} on {kind}")


def _string_type(schema: dict[str, Any]) -> Any:
    if "enum" in schema:
        members = schema["enum"]
        if not isinstance(members, list) or not members:
            raise _UnsupportedError(f"enum {members!r}")
        strings = tuple(member for member in members if isinstance(member, str))
        if set(schema) & {"format", "minLength", "maxLength", "pattern"} or not strings:
            raise _UnsupportedError("an enum with other string keywords")
        return Literal[strings]  # other members cannot match a string
    if "format" in schema:
        if schema["format"] != "date" or set(schema) & {"minLength", "maxLength"}:
            raise _UnsupportedError(f"format {schema['format']!r}")
        if "pattern" in schema and schema["pattern"] not in _DATE_PATTERNS:
            raise _UnsupportedError(f"pattern {schema['pattern']!r} with format date")
        return dt.date
    if "pattern" in schema and not isinstance(schema["pattern"], str):
        raise _UnsupportedError(f"pattern {schema['pattern']!r}")
    return _annotated(str, schema, {"minLength": "min_length", "maxLength": "max_length",
                                    "pattern": "pattern"})


def _integer_type(schema: dict[str, Any]) -> Any:
    constraints = {**_BOUNDS, "multipleOf": "multiple_of"}
    for keyword in constraints:
        if keyword in schema and not (
            is_json_integer(schema[keyword]) and isinstance(schema[keyword], int)
        ):
            raise _UnsupportedError(f"{keyword} {schema[keyword]!r}")
    if schema.get("multipleOf", 1) <= 0:
        raise _UnsupportedError(f"multipleOf {schema['multipleOf']!r}")
    return _annotated(int, schema, constraints)


def _annotated(base: Any, schema: dict[str, Any], names: dict[str, str]) -> Any:
    """Return ``base`` with a msgspec Meta of the schema's keywords named in ``names``."""
    arguments = {names[keyword]: schema[keyword] for keyword in names if keyword in schema}
    for keyword in ("minLength", "maxLength", "minItems", "maxItems"):
        if keyword in schema and not (
            isinstance(schema[keyword], int) and is_json_integer(schema[keyword])
            and schema[keyword] >= 0
        ):
            raise _UnsupportedError(f"{keyword} {schema[keyword]!r}")
    return Annotated[base, msgspec.Meta(**arguments)] if arguments else base


def _item_count(body: Any) -> int:
    if isinstance(body, list):
        return len(body)
    if isinstance(body, msgspec.Struct):
        values = [getattr(body, name) for name in body.__struct_fields__]
        lists = [value for value in values if isinstance(value, list)]
        return sum(len(value) for value in lists) if lists else 1
    if isinstance(body, dict):
        lists = [value for value in body.values() if isinstance(value, list)]
        return sum(len(value) for value in lists) if lists else 1
    return 0
