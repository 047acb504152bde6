from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest

from reach_dq.contract.compiled import (
    compile_clean_check,
    is_json_integer,
    is_multiple_of,
)
from reach_dq.contract.conformance import extra_fields, parse_body, validate_body
from reach_dq.contract.spec import Operation, Spec, load_spec
from reach_dq.warehouse.typed import json_text


@pytest.fixture(scope="module")
def spec() -> Spec:
    return load_spec()


def one_schema_spec(schema: dict[str, Any]) -> Spec:
    """Return a Spec whose only operation, 'op', returns a 200 response with ``schema``."""
    operation = Operation("op", "GET", "/op", (), None, {"200": schema})
    return Spec("t", "1", Path("t.yaml"), {}, {"op": operation})


def full_result_clean(schema: dict[str, Any], body: Any) -> bool:
    """Return whether the full validation and the undeclared-field walk both find nothing."""
    spec = one_schema_spec(schema)
    return not validate_body(spec, "op", body) and not extra_fields(spec, "op", body)


ROW = {"AccountId": "4000", "Date": "2025-01-31", "Amount": Decimal("1234.56")}
ACCOUNT = {"AccountId": "1000", "AccountNumber": None, "AccountName": "Cash",
           "AccountType": "ASSET", "ParentAccountId": None, "IsActive": True,
           "CashFlowCategory": "CASH"}


def test_bundled_document_compiles_every_response(spec: Spec) -> None:
    missing = [
        (operation.operation_id, status)
        for operation in spec.operations.values()
        for status, schema in operation.response_schemas.items()
        if compile_clean_check(schema) is None
    ]
    assert missing == []


@pytest.mark.parametrize(
    ("operation_id", "body"),
    [
        ("getProfitAndLoss", {"Data": [ROW, {**ROW, "Amount": 7}]}),
        ("getProfitAndLoss", {"Data": []}),
        ("listChartOfAccounts",
         {"Data": [ACCOUNT], "Pagination": {"offset": 0, "limit": 100, "total": 1}}),
        ("getCompany", {"CompanyId": "C1", "CompanyName": "Acme", "FiscalMonthEnd": Decimal("12.0"),
                        "Currency": "USD"}),
    ],
    ids=["statement", "empty-statement", "chart", "integral-decimal-month"],
)
def test_clean_bundled_body_accepted(spec: Spec, operation_id: str, body: Any) -> None:
    check = compile_clean_check(spec.response_schema(operation_id))

    assert check is not None
    assert check(body) is True
    assert validate_body(spec, operation_id, body) == []
    assert extra_fields(spec, operation_id, body) == []


@pytest.mark.parametrize(
    ("operation_id", "body"),
    [
        ("getProfitAndLoss", {"Data": [{**ROW, "Date": "2025-02-30"}]}),
        ("getProfitAndLoss", {"Data": [{**ROW, "Date": "2025-1-31"}]}),
        ("getProfitAndLoss", {"Data": [{**ROW, "Amount": "1234.56"}]}),
        ("getProfitAndLoss", {"Data": [{**ROW, "Amount": True}]}),
        ("getProfitAndLoss", {"Data": [{**ROW, "Memo": "x"}]}),
        ("getProfitAndLoss", {"Data": [ROW], "Total": 1}),
        ("getProfitAndLoss", {"Data": [{"AccountId": "4000", "Date": "2025-01-31"}]}),
        ("getProfitAndLoss", {"Data": [{**ROW, "AccountId": ""}]}),
        ("getProfitAndLoss", {"Data": {"AccountId": "4000"}}),
        ("getProfitAndLoss", [ROW]),
        ("listChartOfAccounts", {"Data": [{**ACCOUNT, "AccountType": "asset"}],
                                 "Pagination": {"offset": 0, "limit": 100, "total": 1}}),
        ("listChartOfAccounts", {"Data": [{**ACCOUNT, "CashFlowCategory": "OTHER"}],
                                 "Pagination": {"offset": 0, "limit": 100, "total": 1}}),
        ("listChartOfAccounts", {"Data": [{**ACCOUNT, "IsActive": 1}],
                                 "Pagination": {"offset": 0, "limit": 100, "total": 1}}),
        ("listChartOfAccounts", {"Data": [ACCOUNT],
                                 "Pagination": {"offset": 0, "limit": 1001, "total": 1}}),
        ("getCompany", {"CompanyId": "C1", "CompanyName": "Acme", "FiscalMonthEnd": Decimal("12.5"),
                        "Currency": "USD"}),
        ("getCompany", {"CompanyId": "C1", "CompanyName": "Acme", "FiscalMonthEnd": 12,
                        "Currency": "usd"}),
    ],
    ids=["impossible-date", "unpadded-date", "string-amount", "bool-amount", "extra-item-field",
         "extra-envelope-field", "missing-amount", "empty-id", "object-not-array", "array-body",
         "lower-case-enum", "unknown-category", "int-as-bool", "limit-over-max",
         "fractional-month", "currency-pattern"],
)
def test_broken_bundled_body_rejected(spec: Spec, operation_id: str, body: Any) -> None:
    check = compile_clean_check(spec.response_schema(operation_id))

    assert check is not None
    assert check(body) is False
    violations = validate_body(spec, operation_id, body)
    undeclared = extra_fields(spec, operation_id, body)
    assert violations or undeclared


# Each case: a schema, a body, and whether the body is clean. The test also checks that the
# full validation agrees, so the table pins the compiled function to jsonschema's behaviour.
CASES = [
    ({"type": "integer"}, Decimal("2.0"), True),
    ({"type": "integer"}, Decimal("2.5"), False),
    ({"type": "integer"}, True, False),
    ({"type": "integer"}, 2.0, True),
    ({"type": "number"}, 3, True),
    ({"type": "number"}, False, False),
    ({"type": "number"}, Decimal("-0.01"), True),
    ({"type": ["string", "null"]}, None, True),
    ({"type": ["string", "null"]}, 0, False),
    ({"type": ["integer", "number"]}, Decimal("1.5"), True),
    ({"type": "boolean"}, 0, False),
    ({"type": "object"}, [], False),
    ({"multipleOf": 0.01}, Decimal("0.07"), True),
    ({"multipleOf": 0.01}, Decimal("0.075"), False),
    ({"multipleOf": 0.01}, "0.075", True),
    ({"multipleOf": 0}, Decimal("0.075"), True),
    ({"minimum": 0}, Decimal("0"), True),
    ({"minimum": 0}, Decimal("-0.01"), False),
    ({"maximum": 1.5}, Decimal("1.5"), True),
    ({"exclusiveMinimum": 0}, 0, False),
    ({"exclusiveMaximum": Decimal("2")}, Decimal("1.99"), True),
    ({"exclusiveMaximum": 2}, 2, False),
    ({"minimum": 5}, "text", True),
    ({"enum": ["A", None]}, None, True),
    ({"enum": ["A", None]}, "B", False),
    ({"enum": [1, "A"]}, True, False),
    ({"enum": [1, "A"]}, Decimal("1.0"), True),
    ({"enum": [[1, 2]]}, [1, 2], True),
    ({"const": "A"}, "A", True),
    ({"const": False}, 0, False),
    ({"minLength": 2}, "é€", True),
    ({"minLength": 2}, "é", False),
    ({"maxLength": 1}, "ab", False),
    ({"maxLength": 1}, 12, True),
    ({"pattern": "^[A-Z]{3}$"}, "USD", True),
    ({"pattern": "^[A-Z]{3}$"}, "US", False),
    ({"pattern": "[0-9]"}, "a1b", True),
    ({"format": "date"}, "2024-02-29", True),
    ({"format": "date"}, "2025-02-29", False),
    ({"format": "date"}, 20250131, True),
    ({"format": "date"}, {"not": "a string"}, True),
    ({"type": ["string", "null"], "format": "date"}, "2025-13-01", False),
    ({"required": ["a"]}, {"a": None}, True),
    ({"required": ["a"]}, {"b": 1}, False),
    ({"required": ["a"]}, "not an object", True),
    ({"properties": {"a": {"type": "string"}}}, {"a": 1}, False),
    ({"properties": {"a": {"type": "string"}}}, {}, True),
    ({"properties": {"a": {"type": "string"}}}, {"b": 1}, False),
    ({"properties": {"a": {}}, "additionalProperties": True}, {"b": 1}, True),
    ({"additionalProperties": False}, {}, True),
    ({"additionalProperties": False}, {"b": 1}, False),
    ({"type": "object"}, {"anything": [1]}, True),
    ({"properties": {"a": False}}, {"a": 1}, False),
    ({"properties": {"a": False}}, {}, True),
    ({"minProperties": 1}, {}, False),
    ({"maxProperties": 1}, {"a": 1, "b": 2}, False),
    ({"items": {"type": "integer"}}, [1, 2, Decimal("3.0")], True),
    ({"items": {"type": "integer"}}, [1, "2"], False),
    ({"items": False}, [], True),
    ({"items": False}, [1], False),
    ({"minItems": 1}, [], False),
    ({"maxItems": 1}, [1, 2], False),
    ({"items": {"properties": {"a": {}}}}, [{"a": 1}, {"a": 2, "b": 3}], False),
    ({"description": "x", "nullable": True, "x-extra": 1, "type": "string"}, None, False),
]


@pytest.mark.parametrize(
    ("schema", "body", "clean"), CASES, ids=[f"case{i}" for i in range(len(CASES))]
)
def test_compiled_matches_full_validation(schema: dict[str, Any], body: Any, clean: bool) -> None:
    check = compile_clean_check(schema)

    assert check is not None
    assert check(body) is clean
    assert full_result_clean(schema, body) is clean


@pytest.mark.parametrize(
    ("schema", "body", "clean"), CASES, ids=[f"case{i}" for i in range(len(CASES))]
)
def test_float_check_accepts_only_clean_bodies(
    schema: dict[str, Any], body: Any, clean: bool
) -> None:
    text = json_text(body)
    check = compile_clean_check(schema, floats=True)

    assert check is not None
    if check(orjson.loads(text)):
        assert clean
        assert full_result_clean(schema, parse_body(text))


# Each case: a schema, a body as text, and what the float check returns for orjson's parse of it.
# A float reaches only "type": "number", where any JSON number passes.
FLOAT_CASES = [
    ({"type": "integer"}, "1.0000000000000001", False),  # the float would be 1.0, an integer
    ({"type": "integer"}, "2.0", False),  # clean, but left to the full check
    ({"type": "integer"}, "2", True),
    ({"type": "number"}, "1.0000000000000001", True),
    ({"type": "number"}, "123456789012345678901234567890", True),  # orjson gives a float
    ({"maximum": 1}, "1.0000000000000001", False),  # the float would be 1.0, not above 1
    ({"minimum": 0}, "0.5", False),
    ({"multipleOf": 0.01}, "0.07", False),
    ({"enum": [1.5, "A"]}, "1.5", False),
    ({"const": [1, 2.5]}, "[1, 2.5]", False),
    ({"const": 1}, "1", True),
    ({"properties": {"Amount": {"type": "number"}}}, '{"Amount": -12.34}', True),
    ({"properties": {"Amount": {"type": ["number", "null"]}}}, '{"Amount": 1e-7}', True),
]


@pytest.mark.parametrize(
    ("schema", "text", "accepted"), FLOAT_CASES,
    ids=[f"float-case{i}" for i in range(len(FLOAT_CASES))],
)
def test_float_check_defers_exact_values(
    schema: dict[str, Any], text: str, accepted: bool
) -> None:
    check = compile_clean_check(schema, floats=True)

    assert check is not None
    assert check(orjson.loads(text)) is accepted
    if accepted:
        assert full_result_clean(schema, parse_body(text))


@pytest.mark.parametrize(
    "schema",
    [
        {"anyOf": [{"type": "string"}, {"type": "null"}]},
        {"allOf": [{"type": "string"}]},
        {"properties": {"a": {"not": {"type": "string"}}}},
        {"items": {"$ref": "#/$defs/node"}, "$defs": {"node": {"type": "array"}}},
        {"patternProperties": {"^x-": {}}},
        {"additionalProperties": {"type": "string"}},
        {"prefixItems": [{"type": "string"}]},
        {"uniqueItems": True},
        {"type": "decimal"},
        {"minLength": -1},
        {"minimum": "0"},
        {"pattern": "("},
    ],
    ids=["anyOf", "allOf", "not", "ref", "patternProperties", "additionalProperties-schema",
         "prefixItems", "uniqueItems", "unknown-type", "negative-minLength", "string-minimum",
         "invalid-pattern"],
)
def test_unsupported_schema_not_compiled(schema: dict[str, Any]) -> None:
    assert compile_clean_check(schema) is None


def test_arrays_nested_too_deeply_not_compiled() -> None:
    schema: dict[str, Any] = {"type": "string"}
    for _ in range(30):
        schema = {"type": "array", "items": schema}

    assert compile_clean_check(schema) is None


def test_hostile_names_are_data_not_code() -> None:
    name = "x'] or __import__('os').getcwd() or ['"
    pattern = "^a'\"{3}\\)$"
    schema = {"type": "object", "required": [name],
              "properties": {name: {"type": "string", "pattern": pattern}}}
    check = compile_clean_check(schema)

    assert check is not None
    assert check({name: "a'\"\"\")"}) is True
    assert check({name: "b"}) is False
    assert check({"x": "a"}) is False


def test_repeated_date_still_checked_per_value() -> None:
    check = compile_clean_check({"items": {"type": "string", "format": "date"}})

    assert check is not None
    assert check(["2025-01-31", "2025-01-31"]) is True
    assert check(["2025-01-31", "2025-02-31"]) is False
    assert check(["2025-02-31"]) is False


def test_parsed_body_with_decimals_is_clean(spec: Spec) -> None:
    text = json.dumps({"Data": [{"AccountId": "4000", "Date": "2025-01-31", "Amount": 0.1}]})
    body = parse_body(text)
    check = compile_clean_check(spec.response_schema("getProfitAndLoss"))

    assert check is not None
    assert body["Data"][0]["Amount"] == Decimal("0.1")
    assert check(body) is True


@pytest.mark.parametrize(
    ("value", "expected"),
    [(1, True), (Decimal("1.00"), True), (Decimal("1.01"), False), (1.0, True), (1.5, False),
     (True, False), (Decimal("Infinity"), False), ("1", False)],
)
def test_is_json_integer(value: Any, expected: bool) -> None:
    assert is_json_integer(value) is expected


@pytest.mark.parametrize(
    ("value", "divisor", "expected"),
    [(Decimal("0.07"), 0.01, True), (Decimal("0.075"), 0.01, False), (6, 3, True),
     (7, 3, False), (Decimal("1.5"), Decimal("0.5"), True), (Decimal("5"), 0, True)],
)
def test_is_multiple_of(value: Any, divisor: Any, expected: bool) -> None:
    assert is_multiple_of(value, divisor) is expected


def test_object_keywords_adding_no_test_compile() -> None:
    check = compile_clean_check({"properties": {}, "additionalProperties": True})

    assert check is not None
    assert check({"a": 1}) is True
    assert check("not an object") is True
