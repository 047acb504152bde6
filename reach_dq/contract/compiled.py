"""Compile a response schema into one Python function that recognises a clean body quickly.

The generic ``jsonschema`` validator creates a validator object for each value it descends
into, which makes it slow on statements with a million rows. Most bodies of a snapshot are
clean, so ``compile_clean_check`` generates straight-line Python code for one resolved schema
instead. The function answers only one question: does the body break no
rule of the schema and carry no field the schema does not declare? A body it rejects goes
through ``validate_body`` and ``extra_fields``, which list the exact violations.

The generated function may reject a clean body (that only costs time), but it accepts a body
only when the full validator and the undeclared-field walk would both find nothing. So it
applies JSON Schema 2020-12 semantics as the ``jsonschema`` validator of
``reach_dq.contract.conformance`` does: a ``decimal.Decimal`` is a number, an integral one an
integer, a bool never a number, ``format`` is asserted with jsonschema's own format checker.
A schema that uses a validating keyword compiled here does not cover (``anyOf``, ``$ref``,
``patternProperties`` and others) gets no function, and its bodies always take the full path.

The generated source never contains a value of the schema: names, patterns and bounds are
passed in as constants, so a hostile OpenAPI document cannot inject code.
"""

from __future__ import annotations

import dataclasses
import decimal
import functools
import logging
import numbers
import re
from collections.abc import Callable
from fractions import Fraction
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema._utils import equal as _json_equal  # the enum and const equality of jsonschema

log = logging.getLogger(__name__)

CleanCheck = Callable[[Any], bool]

# Keywords that the full validator acts on and that this module compiles. Any other keyword of
# the validator's vocabulary makes a schema unsupported. Keywords outside that vocabulary
# (annotations, "x-" extensions, OpenAPI's "nullable" in a 3.1 document) are ignored by both.
_COMPILED = frozenset(
    {
        "type", "enum", "const", "format",
        "minLength", "maxLength", "pattern",
        "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf",
        "required", "properties", "additionalProperties", "minProperties", "maxProperties",
        "items", "minItems", "maxItems",
    }
)

# Every keyword the 2020-12 validator acts on. The conformance validator has the same keywords
# and overrides only how multipleOf is computed.
_VALIDATING_KEYWORDS = frozenset(Draft202012Validator.VALIDATORS)

_TYPES = ("array", "boolean", "integer", "null", "number", "object", "string")

_MAX_REMEMBERED = 4096  # passing strings stored per format or pattern keyword

_FORMAT_CHECKER = Draft202012Validator.FORMAT_CHECKER


def is_json_integer(value: Any) -> bool:
    """Return whether a parsed JSON value is an integer: an int, or an integral float or Decimal.

    JSON Schema counts ``1.0`` as an integer. A bool is never one.
    """
    if isinstance(value, bool):
        return False
    if isinstance(value, decimal.Decimal):
        return value.is_finite() and value == value.to_integral_value()
    if isinstance(value, float):
        return value.is_integer()
    return isinstance(value, int)


def is_json_number(value: Any) -> bool:
    """Return whether a parsed JSON value is a number. A bool is not one."""
    return isinstance(value, numbers.Number) and not isinstance(value, bool)


def is_multiple_of(value: Any, divisor: Any) -> bool:
    """Return whether a number is an exact multiple of ``divisor``.

    A float divisor such as 0.01 is read as its decimal text, so 0.07 is a multiple of 0.01.
    A zero divisor accepts every value.
    """
    exact_divisor = Fraction(str(divisor)) if isinstance(divisor, float) else Fraction(divisor)
    if not exact_divisor:
        return True
    return (Fraction(value) / exact_divisor).denominator == 1


def compile_clean_check(schema: Any, *, floats: bool = False) -> CleanCheck | None:
    """Compile a resolved schema into a function that returns True only for a clean body.

    With ``floats`` the function is for bodies whose non-integer numbers were parsed as
    ``float``, which may differ from the number as written. It then returns False wherever a
    float's exact value would matter: an integer type, a bound, multipleOf, enum or const. Only
    ``"type": "number"`` accepts a float, and the JSON number is one whatever its digits.

    Returns None when the schema uses a keyword or a form this module does not compile.
    """
    emitter = _Emitter(floats=floats)
    try:
        code = compile(emitter.source(schema), "<reach-dq clean check>", "exec")
        namespace = dict(emitter.constants)
        exec(code, namespace)  # noqa: S102  # the source contains no value of the schema
    except _UnsupportedError as exc:
        log.debug("no compiled check for this schema: %s", exc)
        return None
    except (SyntaxError, RecursionError, MemoryError) as exc:  # e.g. arrays nested too deeply
        log.debug("no compiled check for this schema: %s", exc)
        return None
    check: CleanCheck = namespace["clean"]
    return check


class _UnsupportedError(Exception):
    """A schema form that ``compile_clean_check`` does not translate."""


@dataclasses.dataclass
class _Emitter:
    """Build the source of one ``clean`` function and the constants it refers to."""

    floats: bool = False  # the body's non-integer numbers are floats, not Decimals
    lines: list[str] = dataclasses.field(default_factory=list)
    constants: dict[str, Any] = dataclasses.field(default_factory=dict)
    counter: int = 0

    def source(self, schema: Any) -> str:
        self.constants.update(
            _Decimal=decimal.Decimal,
            _isnumber=is_json_number,
            _isinteger=_is_exact_integer if self.floats else is_json_integer,
            _equal=_equal_without_floats if self.floats else _json_equal,
        )
        self.lines = ["def clean(v0):"]
        self._node(schema, "v0", 1)
        self.lines.append("    return True")
        return "\n".join(self.lines) + "\n"

    # --- helpers -------------------------------------------------------------------------

    def _name(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    def _constant(self, value: Any) -> str:
        name = self._name("c")
        self.constants[name] = value
        return name

    def _emit(self, depth: int, line: str) -> None:
        self.lines.append("    " * depth + line)

    def _reject_unless(self, depth: int, condition: str) -> None:
        self._emit(depth, f"if not ({condition}): return False")

    def _remembered(self, test: Callable[[str], Any], var: str) -> str:
        """Return a condition that runs a string test once per distinct passing string."""
        passed, run = _remembering(test)
        return f"{self._constant(passed)}.get({var}) or {self._constant(run)}({var})"

    # --- one schema node -----------------------------------------------------------------

    def _node(self, schema: Any, var: str, depth: int) -> None:
        if schema is True:
            return
        if schema is False:
            self._emit(depth, "return False")
            return
        if not isinstance(schema, dict):
            raise _UnsupportedError(f"a schema that is {type(schema).__name__}")
        unsupported = sorted(set(schema) & _VALIDATING_KEYWORDS - _COMPILED)
        if unsupported:
            raise _UnsupportedError(f"keywords {unsupported}")

        only = self._type(schema, var, depth)
        self._values(schema, var, depth, only)
        self._string(schema, var, depth, only)
        self._number(schema, var, depth, only)
        self._object(schema, var, depth, only)
        self._array(schema, var, depth, only)

    def _type(self, schema: dict[str, Any], var: str, depth: int) -> str | None:
        """Emit the type test; return the one type the value then has, if there is one."""
        if "type" not in schema:
            return None
        declared = schema["type"]
        types = [declared] if isinstance(declared, str) else declared
        if not isinstance(types, list) or not types or any(t not in _TYPES for t in types):
            raise _UnsupportedError(f"type {declared!r}")
        self._reject_unless(depth, " or ".join(_type_test(t, var) for t in types))
        distinct = set(types)
        if "integer" in distinct and "number" in distinct:
            distinct.discard("integer")
        return distinct.pop() if len(distinct) == 1 else None

    def _guard(self, var: str, kind: str, only: str | None, depth: int) -> int:
        """Open an ``if`` for keywords that apply to one type only; return the inner depth."""
        if only == kind or (kind == "number" and only == "integer"):
            return depth
        self._emit(depth, f"if {_type_test(kind, var)}:")
        self._emit(depth + 1, "pass")  # keeps the block valid when no keyword adds a line
        return depth + 1

    def _values(self, schema: dict[str, Any], var: str, depth: int, only: str | None) -> None:
        if "enum" in schema:
            members = schema["enum"]
            if not isinstance(members, list):
                raise _UnsupportedError(f"enum {members!r}")
            strings = frozenset(member for member in members if isinstance(member, str))
            others = [member for member in members if not isinstance(member, str)]
            test = f"({var} in {self._constant(strings)}) if isinstance({var}, str) else "
            test += f"any(_equal(m, {var}) for m in {self._constant(others)})"
            self._reject_unless(depth, test)
        if "const" in schema:
            self._reject_unless(depth, f"_equal({var}, {self._constant(schema['const'])})")
        if "format" in schema:
            test = _format_test(schema["format"])
            if only == "string":
                self._reject_unless(depth, self._remembered(test, var))
            else:  # the value may be unhashable, so no lookup
                self._reject_unless(depth, f"{self._constant(test)}({var})")

    def _string(self, schema: dict[str, Any], var: str, depth: int, only: str | None) -> None:
        keywords = [k for k in ("minLength", "maxLength", "pattern") if k in schema]
        if not keywords:
            return
        inner = self._guard(var, "string", only, depth)
        for keyword in keywords:
            value = schema[keyword]
            if keyword == "pattern":
                self._reject_unless(inner, self._remembered(_search(value), var))
                continue
            bound = self._constant(_whole_number(keyword, value))
            operator = ">=" if keyword == "minLength" else "<="
            self._reject_unless(inner, f"len({var}) {operator} {bound}")

    def _number(self, schema: dict[str, Any], var: str, depth: int, only: str | None) -> None:
        operators = {"minimum": ">=", "maximum": "<=", "exclusiveMinimum": ">",
                     "exclusiveMaximum": "<"}
        keywords = [k for k in (*operators, "multipleOf") if k in schema]
        if not keywords:
            return
        inner = self._guard(var, "number", only, depth)
        if self.floats:
            self._reject_unless(inner, f"type({var}) is not float")
        for keyword in keywords:
            value = schema[keyword]
            if not is_json_number(value):
                raise _UnsupportedError(f"{keyword} {value!r}")
            bound = self._constant(value)
            if keyword == "multipleOf":
                self.constants["_multiple"] = is_multiple_of
                self._reject_unless(inner, f"_multiple({var}, {bound})")
            else:
                self._reject_unless(inner, f"{var} {operators[keyword]} {bound}")

    def _object(self, schema: dict[str, Any], var: str, depth: int, only: str | None) -> None:
        keywords = ("required", "properties", "additionalProperties", "minProperties",
                    "maxProperties")
        if not any(keyword in schema for keyword in keywords):
            return
        inner = self._guard(var, "object", only, depth)

        required = schema.get("required", [])
        if not isinstance(required, list) or not all(isinstance(n, str) for n in required):
            raise _UnsupportedError(f"required {required!r}")
        properties = schema.get("properties", {})
        if not isinstance(properties, dict):
            raise _UnsupportedError(f"properties {properties!r}")
        self._keys(frozenset(required), _declared_fields(schema, properties), var, inner)
        for keyword, operator in (("minProperties", ">="), ("maxProperties", "<=")):
            if keyword in schema:
                bound = self._constant(_whole_number(keyword, schema[keyword]))
                self._reject_unless(inner, f"len({var}) {operator} {bound}")
        for name, subschema in properties.items():
            self._property(name, subschema, var, inner, required=name in required)

    def _keys(self, required: frozenset[str], declared: frozenset[str] | None, var: str,
              depth: int) -> None:
        """Require the ``required`` fields and, unless ``declared`` is None, no other field."""
        if required and required == declared:
            self._reject_unless(depth, f"{var}.keys() == {self._constant(required)}")
            return
        if required:
            self._reject_unless(depth, f"{var}.keys() >= {self._constant(required)}")
        if declared is not None:
            self._reject_unless(depth, f"{var}.keys() <= {self._constant(declared)}")

    def _property(self, name: str, subschema: Any, var: str, depth: int, *,
                  required: bool) -> None:
        if subschema is True:
            return
        key = self._constant(name)
        value = self._name("v")
        if required:  # the required test above already ran
            self._emit(depth, f"{value} = {var}[{key}]")
            self._node(subschema, value, depth)
            return
        self._emit(depth, f"if {key} in {var}:")
        self._emit(depth + 1, f"{value} = {var}[{key}]")
        self._node(subschema, value, depth + 1)

    def _array(self, schema: dict[str, Any], var: str, depth: int, only: str | None) -> None:
        keywords = [k for k in ("minItems", "maxItems", "items") if k in schema]
        if not keywords:
            return
        inner = self._guard(var, "array", only, depth)
        for keyword, operator in (("minItems", ">="), ("maxItems", "<=")):
            if keyword in schema:
                bound = self._constant(_whole_number(keyword, schema[keyword]))
                self._reject_unless(inner, f"len({var}) {operator} {bound}")
        if "items" not in schema or schema["items"] is True:
            return
        items = schema["items"]
        if not isinstance(items, (dict, bool)):
            raise _UnsupportedError(f"items {type(items).__name__}")
        item = self._name("v")
        self._emit(inner, f"for {item} in {var}:")
        self._node(items, item, inner + 1)


def _declared_fields(schema: dict[str, Any], properties: dict[str, Any]) -> frozenset[str] | None:
    """Return the only fields an object may carry, or None when the schema leaves it open.

    ``additionalProperties: false`` makes any other field a violation. When the keyword is
    absent and ``properties`` is present, ``extra_fields`` would list such a field.
    """
    additional = schema.get("additionalProperties")
    if additional is True or ("properties" not in schema and additional is None):
        return None
    if additional is not None and additional is not False:
        raise _UnsupportedError("additionalProperties with a schema")
    return frozenset(properties)


def _is_exact_integer(value: Any) -> bool:
    """Return whether a value is an integer, never for a float, whose digits may be rounded."""
    return not isinstance(value, float) and is_json_integer(value)


def _equal_without_floats(left: Any, right: Any) -> bool:
    """Return jsonschema's equality, but False when either side contains a float at any depth."""
    return not (_contains_float(left) or _contains_float(right)) and _json_equal(left, right)


def _contains_float(value: Any) -> bool:
    if isinstance(value, float):
        return True
    if isinstance(value, dict):
        return any(_contains_float(item) for item in value.values())
    if isinstance(value, list):
        return any(_contains_float(item) for item in value)
    return False


def _type_test(json_type: str, var: str) -> str:
    tests = {
        "array": f"isinstance({var}, list)",
        "boolean": f"isinstance({var}, bool)",
        "integer": f"(type({var}) is int or _isinteger({var}))",
        "null": f"{var} is None",
        "number": (f"(type({var}) is float or type({var}) is _Decimal or type({var}) is int "
                   f"or _isnumber({var}))"),
        "object": f"isinstance({var}, dict)",
        "string": f"isinstance({var}, str)",
    }
    return tests[json_type]


def _whole_number(keyword: str, value: Any) -> int:
    if not is_json_integer(value) or value < 0:
        raise _UnsupportedError(f"{keyword} {value!r}")
    return int(value)


def _search(pattern: Any) -> Callable[[str], Any]:
    if not isinstance(pattern, str):
        raise _UnsupportedError(f"pattern {pattern!r}")
    try:
        return re.compile(pattern).search
    except re.error as exc:
        raise _UnsupportedError(f"pattern {pattern!r}: {exc}") from exc


def _format_test(format_name: Any) -> Callable[[Any], bool]:
    if not isinstance(format_name, str):
        raise _UnsupportedError(f"format {format_name!r}")
    return functools.partial(_FORMAT_CHECKER.conforms, format=format_name)


def _remembering(test: Callable[[str], Any]) -> tuple[dict[str, bool], Callable[[str], bool]]:
    """Wrap a string test so each passing string is stored in a dict read by the caller first.

    Dates and enum-like strings repeat across thousands of items, so most values are then one
    dict lookup instead of a regular expression or a date parse.
    """
    passed: dict[str, bool] = {}

    def run(value: str) -> bool:
        result = bool(test(value))
        if result and len(passed) < _MAX_REMEMBERED:
            passed[value] = True
        return result

    return passed, run
