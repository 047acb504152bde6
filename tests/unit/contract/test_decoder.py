from __future__ import annotations

import json
import random
from decimal import Decimal
from typing import Any

import pytest

from checks.formatting import _item_count
from reach_dq.contract.conformance import parse_body
from reach_dq.contract.decoder import compile_clean_decoder
from reach_dq.contract.spec import Spec, load_spec
from reach_dq.warehouse.typed import json_text
from tests.unit.contract.test_compiled import full_result_clean

STATEMENT_ROW = {"AccountId": "4000", "Date": "2025-01-31", "Amount": Decimal("1234.56")}
ACCOUNT = {"AccountId": "1000", "AccountNumber": None, "AccountName": "Cash",
           "AccountType": "ASSET", "ParentAccountId": None, "IsActive": True,
           "CashFlowCategory": "CASH"}
PAGE = {"offset": 0, "limit": 100, "total": 1}


@pytest.fixture(scope="module")
def spec() -> Spec:
    return load_spec()


def test_bundled_data_operations_have_decoders(spec: Spec) -> None:
    operations = ["getCompany", "listChartOfAccounts", "listBudgets", "listClasses",
                  "listDepartments", "listNonFinancialMetrics", "getNonFinancialValues",
                  "getProfitAndLoss", "getBalanceSheet", "getCashFlow"]
    missing = [op for op in operations if compile_clean_decoder(spec.response_schema(op)) is None]

    assert missing == []


@pytest.mark.parametrize(
    ("operation_id", "text", "items"),
    [
        ("getProfitAndLoss", json_text({"Data": [STATEMENT_ROW, {**STATEMENT_ROW, "Amount": 7}]}),
         2),
        ("getProfitAndLoss", '{"Data": []}', 0),
        ("getBalanceSheet", '{"Data": [{"Amount": 1e400, "Date": "2024-02-29", "AccountId": "x"}]}',
         None),  # a clean body that msgspec cannot hold as a float: the slower checks take it
        ("listChartOfAccounts", json_text({"Data": [ACCOUNT, ACCOUNT], "Pagination": PAGE}), 2),
        ("getCompany", '{"CompanyId": "C1", "CompanyName": "Acme", "FiscalMonthEnd": 12, '
                       '"Currency": "USD"}', 1),
    ],
    ids=["statement", "empty-statement", "huge-number", "chart", "company"],
)
def test_clean_bundled_body_counted(
    spec: Spec, operation_id: str, text: str, items: int | None
) -> None:
    decoder = compile_clean_decoder(spec.response_schema(operation_id))

    assert decoder is not None
    assert decoder(text) == items
    assert full_result_clean(spec.response_schema(operation_id), parse_body(text))
    if items is not None:
        assert items == _item_count(parse_body(text))


BROKEN_STATEMENTS = {
    "impossible-date": {"Data": [{**STATEMENT_ROW, "Date": "2025-02-29"}]},
    "unpadded-date": {"Data": [{**STATEMENT_ROW, "Date": "2025-1-31"}]},
    "date-time": {"Data": [{**STATEMENT_ROW, "Date": "2025-01-31T00:00:00"}]},
    "string-amount": {"Data": [{**STATEMENT_ROW, "Amount": "1234.56"}]},
    "bool-amount": {"Data": [{**STATEMENT_ROW, "Amount": True}]},
    "null-amount": {"Data": [{**STATEMENT_ROW, "Amount": None}]},
    "extra-item-field": {"Data": [{**STATEMENT_ROW, "Memo": "x"}]},
    "extra-envelope-field": {"Data": [STATEMENT_ROW], "Total": 1},
    "missing-amount": {"Data": [{"AccountId": "4000", "Date": "2025-01-31"}]},
    "empty-id": {"Data": [{**STATEMENT_ROW, "AccountId": ""}]},
    "numeric-id": {"Data": [{**STATEMENT_ROW, "AccountId": 4000}]},
    "object-not-array": {"Data": {"AccountId": "4000"}},
    "array-body": [STATEMENT_ROW],
    "row-not-object": {"Data": [STATEMENT_ROW, "4000"]},
}


@pytest.mark.parametrize("body", BROKEN_STATEMENTS.values(), ids=BROKEN_STATEMENTS.keys())
def test_broken_statement_turned_down(spec: Spec, body: Any) -> None:
    schema = spec.response_schema("getProfitAndLoss")
    decoder = compile_clean_decoder(schema)

    assert decoder is not None
    assert decoder(json_text(body)) is None
    assert not full_result_clean(schema, body)


@pytest.mark.parametrize(
    "text", ['{"Data": [NaN]}', '{"Data": []', '{"Data": [], }', "", '{"Data": []} x'],
    ids=["nan", "truncated", "trailing-comma", "empty", "trailing-text"],
)
def test_text_that_is_not_json_turned_down(spec: Spec, text: str) -> None:
    decoder = compile_clean_decoder(spec.response_schema("getProfitAndLoss"))

    assert decoder is not None
    assert decoder(text) is None


# Each case: a schema, a body, and whether the body is clean. The full validation must agree,
# and the decoder must accept exactly the clean bodies.
CASES = [
    ({"type": "string", "minLength": 2}, "é€", True),
    ({"type": "string", "minLength": 2}, "é", False),
    ({"type": "string", "maxLength": 1}, "ab", False),
    ({"type": "string", "pattern": "[0-9]"}, "a1b", True),
    ({"type": "string", "pattern": "^[A-Z]{3}$"}, "US", False),
    ({"type": "string", "enum": ["A", "B"]}, "B", True),
    ({"type": "string", "enum": ["A", "B"]}, "a", False),
    ({"type": ["string", "null"], "enum": ["A"]}, None, False),
    ({"type": ["string", "null"], "enum": ["A", None]}, None, True),
    ({"type": ["string", "null"]}, None, True),
    ({"type": ["string", "null"]}, 0, False),
    ({"type": "string", "format": "date"}, "2024-02-29", True),
    ({"type": "string", "format": "date"}, "2025-02-29", False),
    ({"type": "string", "format": "date"}, 20250131, False),
    ({"type": "integer"}, 3, True),
    ({"type": "integer"}, 123456789012345678901234567890, True),
    ({"type": "integer"}, True, False),
    ({"type": "integer"}, Decimal("2.5"), False),
    ({"type": "integer", "minimum": 1, "maximum": 12}, 12, True),
    ({"type": "integer", "minimum": 1, "maximum": 12}, 13, False),
    ({"type": "integer", "exclusiveMinimum": 0}, 0, False),
    ({"type": "integer", "multipleOf": 3}, 7, False),
    ({"type": "number"}, Decimal("-0.01"), True),
    ({"type": "number"}, 3, True),
    ({"type": "number"}, False, False),
    ({"type": "boolean"}, 0, False),
    ({"type": "null"}, None, True),
    ({"type": "array", "items": {"type": "integer"}, "minItems": 1}, [], False),
    ({"type": "array", "items": {"type": "integer"}, "maxItems": 1}, [1, 2], False),
    ({"type": "array", "items": {"type": "integer"}}, [1, "2"], False),
    ({"type": "array"}, [1, "2", None, {"a": []}], True),
    ({"type": "object"}, {"anything": [1]}, True),
    ({"type": "object", "properties": {"a": {"type": "string"}}}, {}, True),
    ({"type": "object", "properties": {"a": {"type": "string"}}}, {"a": 1}, False),
    ({"type": "object", "properties": {"a": {"type": "string"}}}, {"b": "x"}, False),
    ({"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]}, {}, False),
    ({"type": "object", "properties": {"a": {}}, "additionalProperties": True}, {"b": 1}, True),
    ({"type": "object", "properties": {"a": {}}, "additionalProperties": False}, {"b": 1}, False),
    ({"type": "object", "properties": {"a": {"type": "object", "properties": {
        "b": {"type": "integer"}}}}}, {"a": {"b": "1"}}, False),
]


@pytest.mark.parametrize(
    ("schema", "body", "clean"), CASES, ids=[f"case{i}" for i in range(len(CASES))]
)
def test_decoder_accepts_exactly_the_clean_bodies(
    schema: dict[str, Any], body: Any, clean: bool
) -> None:
    decoder = compile_clean_decoder(schema)

    assert decoder is not None
    assert full_result_clean(schema, body) is clean
    assert (decoder(json_text(body)) is not None) is clean


def test_fractional_integer_text_deferred() -> None:
    schema = {"type": "integer"}
    decoder = compile_clean_decoder(schema)

    assert decoder is not None
    assert decoder("2.0") is None
    assert full_result_clean(schema, parse_body("2.0"))


@pytest.mark.parametrize(
    "schema",
    [
        {"anyOf": [{"type": "string"}, {"type": "null"}]},
        {"type": "number", "minimum": 0},
        {"type": "number", "multipleOf": 0.01},
        {"type": "string", "format": "email"},
        {"type": "string", "format": "date", "pattern": "^2025"},
        {"type": "string", "const": "A"},
        {"type": "integer", "minimum": 0.5},
        {"type": "integer", "enum": [1, 2]},
        {"type": ["string", "integer"]},
        {"type": "object", "additionalProperties": {"type": "string"}},
        {"type": "object", "properties": {"a": {}}, "required": ["b"]},
        {"minLength": 1},
        {"type": "string", "minLength": -1},
    ],
    ids=["anyOf", "number-bound", "number-multipleOf", "email", "date-with-other-pattern",
         "const", "fractional-integer-bound", "integer-enum", "type-union", "schema-for-others",
         "required-without-property", "no-type", "negative-minLength"],
)
def test_unsupported_schema_has_no_decoder(schema: dict[str, Any]) -> None:
    assert compile_clean_decoder(schema) is None


def test_hostile_names_are_data() -> None:
    names = ["__class__", "f0", "a b", "__struct_fields__", "é"]
    schema = {"type": "object", "required": names,
              "properties": {name: {"type": "string"} for name in names}}
    decoder = compile_clean_decoder(schema)

    assert decoder is not None
    assert decoder(json.dumps({name: "v" for name in names})) == 1
    assert decoder(json.dumps({name: 1 for name in names})) is None


def test_name_that_msgspec_cannot_rename_leaves_no_decoder() -> None:
    schema = {"type": "object", "properties": {'x"y': {"type": "string"}}}

    assert compile_clean_decoder(schema) is None


def _mutated_statement(rng: random.Random) -> Any:
    """Return a statement body of a few rows, one of them changed in one of many ways."""
    rows = [{"AccountId": f"A{rng.randrange(100)}", "Date": "2025-01-31",
             "Amount": Decimal(rng.randrange(-10**6, 10**6)) / 100} for _ in range(4)]
    row = rng.choice(rows)
    field = rng.choice(["AccountId", "Date", "Amount", "Extra"])
    value = rng.choice([None, True, 0, 1.5, "", "x", "2025-13-01", "2024-02-29", [], {}])
    if rng.random() < 0.2:
        row.pop(field, None)
    else:
        row[field] = value
    return {"Data": rows}


@pytest.mark.parametrize("seed", range(8))
def test_random_statements_accepted_only_when_clean(spec: Spec, seed: int) -> None:
    schema = spec.response_schema("getCashFlow")
    decoder = compile_clean_decoder(schema)
    rng = random.Random(seed)
    assert decoder is not None

    verdicts = []
    for _ in range(50):
        body = _mutated_statement(rng)
        text = json_text(body)
        clean = full_result_clean(schema, parse_body(text))
        items = decoder(text)
        assert items is None or clean, text
        verdicts.append((clean, items is not None))

    assert (True, True) in verdicts  # both outcomes occur, so the comparison means something
    assert (False, False) in verdicts
