from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from reach_dq.contract.conformance import (
    InvalidBodyError,
    Violation,
    check_body,
    extra_fields,
    format_location,
    parse_body,
    validate_body,
    value_text,
)
from reach_dq.contract.spec import DEFAULT_SPEC_PATH, Spec, load_spec
from reach_dq.exceptions import ContractError


@pytest.fixture(scope="module")
def spec() -> Spec:
    return load_spec()


def pnl(*rows: dict[str, Any] | str) -> str:
    """Return a Profit and Loss body; a str row is inserted as raw JSON text."""
    texts = [row if isinstance(row, str) else json.dumps(row) for row in rows]
    return '{"Data": [' + ", ".join(texts) + "]}"


def account(**changes: Any) -> dict[str, Any]:
    item = {
        "AccountId": "1000",
        "AccountNumber": "1000",
        "AccountName": "Cash",
        "AccountType": "ASSET",
        "ParentAccountId": None,
        "IsActive": True,
        "CashFlowCategory": "CASH",
    }
    item.update(changes)
    return {key: value for key, value in item.items() if value is not ...}


def chart(*items: dict[str, Any]) -> str:
    return json.dumps({"Data": list(items), "Pagination": {"offset": 0, "limit": 100, "total": len(items)}})


ROW = {"AccountId": "4000", "Date": "2025-01-31", "Amount": 1234.56}


# --- parse_body --------------------------------------------------------------------------


def test_parse_body_reads_money_as_decimal() -> None:
    body = parse_body('{"Amount": 1234.56, "Count": 3}')
    assert body == {"Amount": Decimal("1234.56"), "Count": 3}
    assert isinstance(body["Amount"], Decimal)


def test_parse_body_rejects_nan_body() -> None:
    with pytest.raises(InvalidBodyError) as raised:
        parse_body("NaN")
    assert str(raised.value) == "the body is NaN, which is not valid JSON; expected a finite number"


def test_parse_body_rejects_nan_with_location() -> None:
    with pytest.raises(InvalidBodyError) as raised:
        parse_body('{"Data": [{"Amount": 1}, {"Amount": NaN}]}')
    assert str(raised.value) == "Data[1].Amount is NaN, which is not valid JSON; expected a finite number"


@pytest.mark.parametrize("literal", ["Infinity", "-Infinity"])
def test_parse_body_rejects_infinity(literal: str) -> None:
    with pytest.raises(InvalidBodyError) as raised:
        parse_body(f'{{"Value": {literal}}}')
    assert raised.value.violation == Violation(
        location="Value",
        field="Value",
        value=literal,
        rule="finite number",
        message=f"Value is {literal}, which is not valid JSON; expected a finite number",
        path=("Value",),
    )


def test_parse_body_invalid_json_gives_position() -> None:
    with pytest.raises(InvalidBodyError) as raised:
        parse_body('{"Data": [1, 2,]}')
    assert str(raised.value) == "the body is not valid JSON: Expecting value at line 1 column 16 (char 15)"


def test_parse_body_invalid_json_is_a_contract_error() -> None:
    with pytest.raises(ContractError):
        parse_body("<html></html>")


def test_parse_body_nan_under_repeated_key() -> None:
    with pytest.raises(InvalidBodyError) as raised:
        parse_body('{"Amount": NaN, "Amount": 1}')
    assert str(raised.value) == "the body contains NaN, which is not valid JSON; expected a finite number"


def test_parse_body_huge_integer_reported() -> None:
    with pytest.raises(InvalidBodyError) as raised:
        parse_body('{"Amount": ' + "9" * 5000 + "}")
    assert raised.value.violation.rule == "JSON within the parser's limits"
    assert str(raised.value).startswith("the body cannot be parsed as JSON: Exceeds the limit (4300 digits)")


def test_parse_body_deep_nesting_reported() -> None:
    with pytest.raises(InvalidBodyError) as raised:
        parse_body("[" * 100_000 + "]" * 100_000)
    assert str(raised.value) == "the body is nested too deeply to parse as JSON"


# --- check_body: the cases a partner hits first ------------------------------------------


def test_valid_profit_and_loss_has_no_violations(spec: Spec) -> None:
    body = pnl(ROW, {"AccountId": "5000", "Date": "2025-02-28", "Amount": -12})
    assert check_body(spec, "getProfitAndLoss", body) == []


def test_empty_data_is_valid(spec: Spec) -> None:
    assert check_body(spec, "getBalanceSheet", '{"Data": []}') == []


def test_date_not_zero_padded(spec: Spec) -> None:
    violations = check_body(spec, "getProfitAndLoss", pnl({**ROW, "Date": "2025-1-31"}))
    assert violations == [
        Violation(
            location="Data[0].Date",
            field="Date",
            value='"2025-1-31"',
            rule="format date (YYYY-MM-DD)",
            message='Data[0].Date is "2025-1-31", expected format date (YYYY-MM-DD)',
            path=("Data", 0, "Date"),
        )
    ]


def test_date_that_does_not_exist(spec: Spec) -> None:
    violations = check_body(spec, "getProfitAndLoss", pnl({**ROW, "Date": "2025-02-30"}))
    assert [(v.location, v.rule) for v in violations] == [("Data[0].Date", "format date (YYYY-MM-DD)")]


@pytest.mark.parametrize("text", ["２０２５-01-31", "2025-01-31T00:00:00", "20250131", "2025-01-31\n"])
def test_date_lookalikes_rejected(spec: Spec, text: str) -> None:
    violations = check_body(spec, "getProfitAndLoss", pnl({**ROW, "Date": text}))
    assert [v.rule for v in violations] == ["format date (YYYY-MM-DD)"]


def test_amount_as_string(spec: Spec) -> None:
    violations = check_body(spec, "getProfitAndLoss", pnl({**ROW, "Amount": "1234.56"}))
    assert violations == [
        Violation(
            location="Data[0].Amount",
            field="Amount",
            value='"1234.56"',
            rule="type number",
            message='Data[0].Amount is "1234.56", expected type number',
            path=("Data", 0, "Amount"),
        )
    ]


def test_amount_as_bool_is_not_a_number(spec: Spec) -> None:
    violations = check_body(spec, "getProfitAndLoss", pnl({**ROW, "Amount": True}))
    assert [(v.value, v.rule) for v in violations] == [("true", "type number")]


def test_chart_item_missing_account_name(spec: Spec) -> None:
    body = chart(account(), account(AccountId="2000", AccountName=...))
    violations = check_body(spec, "listChartOfAccounts", body)
    assert violations == [
        Violation(
            location="Data[1].AccountName",
            field="AccountName",
            value=None,
            rule="required",
            message="Data[1] is missing required field 'AccountName'",
            path=("Data", 1, "AccountName"),
        )
    ]


def test_missing_envelope_field(spec: Spec) -> None:
    violations = check_body(spec, "listChartOfAccounts", '{"Data": []}')
    assert [v.message for v in violations] == ["the body is missing required field 'Pagination'"]


def test_nan_amount_is_a_violation(spec: Spec) -> None:
    violations = check_body(spec, "getProfitAndLoss", pnl('{"AccountId": "4000", "Date": "2025-01-31", "Amount": NaN}'))
    assert violations == [
        Violation(
            location="Data[0].Amount",
            field="Amount",
            value="NaN",
            rule="finite number",
            message="Data[0].Amount is NaN, which is not valid JSON; expected a finite number",
            path=("Data", 0, "Amount"),
        )
    ]


def test_invalid_json_is_a_violation(spec: Spec) -> None:
    violations = check_body(spec, "getProfitAndLoss", "<html><body>Sign in</body></html>")
    assert violations == [
        Violation(
            location="$",
            field=None,
            value='"<html><body>Sign in</body></html>"',
            rule="valid JSON",
            message="the body is not valid JSON: Expecting value at line 1 column 1 (char 0)",
        )
    ]


def test_empty_body_is_a_violation(spec: Spec) -> None:
    violations = check_body(spec, "getCompany", "")
    assert [v.rule for v in violations] == ["valid JSON"]


def test_null_body(spec: Spec) -> None:
    violations = check_body(spec, "getProfitAndLoss", "null")
    assert [v.message for v in violations] == ["the body is null, expected type object"]


def test_decimal_with_many_digits_passes(spec: Spec) -> None:
    body = pnl('{"AccountId": "4000", "Date": "2025-01-31", "Amount": 123456789012345678901234567890.123456789012345678901}')
    assert check_body(spec, "getProfitAndLoss", body) == []


def test_exponent_number_passes(spec: Spec) -> None:
    body = pnl('{"AccountId": "4000", "Date": "2025-01-31", "Amount": 1.5E+3}')
    assert check_body(spec, "getProfitAndLoss", body) == []


def test_extra_field_is_not_a_schema_violation(spec: Spec) -> None:
    body = pnl({**ROW, "Memo": "rent"})
    assert check_body(spec, "getProfitAndLoss", body) == []


def test_extra_field_listed_by_extra_fields(spec: Spec) -> None:
    body = parse_body(pnl({**ROW, "Memo": "rent"}))
    assert extra_fields(spec, "getProfitAndLoss", body) == [
        Violation(
            location="Data[0].Memo",
            field="Memo",
            value='"rent"',
            rule="only fields the contract declares",
            message="Data[0] has field 'Memo', which the contract does not declare (value \"rent\")",
            path=("Data", 0, "Memo"),
        )
    ]


def test_extra_top_level_field_listed(spec: Spec) -> None:
    body = parse_body('{"Data": [], "Pagination": {"offset": 0, "limit": 1, "total": 0, "pages": 0}, "Next": null}')
    found = extra_fields(spec, "listClasses", body)
    assert [v.message for v in found] == [
        "the body has field 'Next', which the contract does not declare (value null)",
        "Pagination has field 'pages', which the contract does not declare (value 0)",
    ]


def test_clean_body_has_no_extra_fields(spec: Spec) -> None:
    assert extra_fields(spec, "listChartOfAccounts", parse_body(chart(account()))) == []


# --- check_body: the rest of the rules ---------------------------------------------------


def test_several_violations_in_body_order(spec: Spec) -> None:
    body = chart(
        account(AccountType="ASSETS", IsActive=1),
        account(AccountId="", CashFlowCategory="BOGUS"),
    )
    violations = check_body(spec, "listChartOfAccounts", body)
    assert [v.message for v in violations] == [
        'Data[0].AccountType is "ASSETS", expected one of ASSET, LIABILITY, EQUITY, REVENUE, '
        "COST_OF_SALES, EXPENSE, OTHER_INCOME, OTHER_EXPENSE",
        "Data[0].IsActive is 1, expected type boolean",
        'Data[1].AccountId is "", expected minLength 1',
        'Data[1].CashFlowCategory is "BOGUS", expected one of CASH, OPERATING, INVESTING, FINANCING, null',
    ]


def test_wrong_type_hides_enum_failure(spec: Spec) -> None:
    violations = check_body(spec, "listChartOfAccounts", chart(account(CashFlowCategory=5)))
    assert [(v.location, v.rule) for v in violations] == [("Data[0].CashFlowCategory", "type string or null")]


def test_null_allowed_where_nullable(spec: Spec) -> None:
    body = chart(account(AccountNumber=None, CashFlowCategory=None, ParentAccountId=None))
    assert check_body(spec, "listChartOfAccounts", body) == []


def test_null_rejected_where_not_nullable(spec: Spec) -> None:
    violations = check_body(spec, "listChartOfAccounts", chart(account(AccountName=None)))
    assert [v.message for v in violations] == ["Data[0].AccountName is null, expected type string"]


def test_pagination_limit_out_of_range(spec: Spec) -> None:
    body = '{"Data": [], "Pagination": {"offset": -1, "limit": 5000, "total": 0}}'
    violations = check_body(spec, "listBudgets", body)
    assert [v.message for v in violations] == [
        "Pagination.limit is 5000, expected maximum 1000",
        "Pagination.offset is -1, expected minimum 0",
    ]


def test_company_rules(spec: Spec) -> None:
    body = '{"CompanyId": "C001", "CompanyName": "Acme", "FiscalMonthEnd": 13, "Currency": "usd"}'
    violations = check_body(spec, "getCompany", body)
    assert [v.message for v in violations] == [
        'Currency is "usd", expected pattern ^[A-Z]{3}$',
        "FiscalMonthEnd is 13, expected maximum 12",
    ]


def test_integral_decimal_counts_as_integer(spec: Spec) -> None:
    body = '{"CompanyId": "C001", "CompanyName": "Acme", "FiscalMonthEnd": 12.0, "Currency": "USD"}'
    assert check_body(spec, "getCompany", body) == []


def test_fractional_decimal_is_not_integer(spec: Spec) -> None:
    body = '{"CompanyId": "C001", "CompanyName": "Acme", "FiscalMonthEnd": 6.5, "Currency": "USD"}'
    violations = check_body(spec, "getCompany", body)
    assert [v.message for v in violations] == ["FiscalMonthEnd is 6.5, expected type integer"]


def test_bool_is_not_integer(spec: Spec) -> None:
    body = '{"CompanyId": "C001", "CompanyName": "Acme", "FiscalMonthEnd": true, "Currency": "USD"}'
    violations = check_body(spec, "getCompany", body)
    assert [v.rule for v in violations] == ["type integer"]


def test_long_value_is_truncated(spec: Spec) -> None:
    violations = check_body(spec, "getProfitAndLoss", pnl({**ROW, "Amount": "9" * 500}))
    assert violations[0].value == '"' + "9" * 78 + "…"
    assert len(violations[0].value) == 80


def test_error_body_of_other_status(spec: Spec) -> None:
    assert check_body(spec, "getCompany", '{"Message": "unknown company"}', status=404) == []
    violations = check_body(spec, "getCompany", '{"message": "unknown company"}', status=404)
    assert [v.message for v in violations] == ["the body is missing required field 'Message'"]


def test_unknown_operation_raises(spec: Spec) -> None:
    with pytest.raises(ContractError) as raised:
        check_body(spec, "getLedger", "{}")
    assert str(raised.value) == f"the OpenAPI document {str(DEFAULT_SPEC_PATH)!r} has no operation 'getLedger'"


def test_validate_body_takes_parsed_body(spec: Spec) -> None:
    body = {"Data": [{"AccountId": "4000", "Date": "2025-01-31", "Amount": Decimal("0.10")}]}
    assert validate_body(spec, "getCashFlow", body) == []


# --- documents other than the bundled one ------------------------------------------------


def official_like(tmp_path: Path, schema: dict[str, Any]) -> Spec:
    document = {
        "openapi": "3.1.0",
        "info": {"title": "Other", "version": "2"},
        "paths": {"/rows": {"get": {"operationId": "rows", "responses": {"200": {
            "description": "ok", "content": {"application/json": {"schema": schema}}}}}}},
    }
    path = tmp_path / "other.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return load_spec(path)


def test_multiple_of_is_exact_for_decimals(tmp_path: Path) -> None:
    spec = official_like(tmp_path, {"type": "object", "properties": {"Amount": {"type": "number", "multipleOf": 0.01}}})
    assert check_body(spec, "rows", '{"Amount": 1234.56}') == []
    violations = check_body(spec, "rows", '{"Amount": 0.125}')
    assert [v.message for v in violations] == ["Amount is 0.125, expected multipleOf 0.01"]


def test_nullable_as_any_of(tmp_path: Path) -> None:
    schema = {"type": "object", "properties": {"Category": {"anyOf": [
        {"type": "string", "enum": ["CASH", "OPERATING"]}, {"type": "null"}]}}}
    spec = official_like(tmp_path, schema)
    assert check_body(spec, "rows", '{"Category": null}') == []
    assert [v.message for v in check_body(spec, "rows", '{"Category": "X"}')] == [
        'Category is "X", expected one of CASH, OPERATING'
    ]
    assert [v.message for v in check_body(spec, "rows", '{"Category": 1}')] == [
        "Category is 1, expected type string or null"
    ]


def test_any_of_object_reports_inner_failure(tmp_path: Path) -> None:
    schema = {"anyOf": [{"type": "object", "required": ["Id"], "properties": {"Id": {"type": "string"}}}, {"type": "null"}]}
    spec = official_like(tmp_path, schema)
    assert [v.message for v in check_body(spec, "rows", '{"Id": 5}')] == ["Id is 5, expected type string"]


def test_additional_properties_false_is_a_violation(tmp_path: Path) -> None:
    schema = {"type": "object", "properties": {"Id": {"type": "string"}}, "additionalProperties": False}
    spec = official_like(tmp_path, schema)
    violations = check_body(spec, "rows", '{"Id": "a", "Extra": 1}')
    assert [(v.location, v.rule) for v in violations] == [("Extra", "no undeclared fields (additionalProperties false)")]
    assert extra_fields(spec, "rows", parse_body('{"Id": "a", "Extra": 1}')) == []


def test_map_schema_keys_are_not_extra(tmp_path: Path) -> None:
    schema = {"type": "object", "properties": {"Totals": {"type": "object", "properties": {"Sum": {"type": "number"}}, "additionalProperties": {"type": "number"}}}}
    spec = official_like(tmp_path, schema)
    assert extra_fields(spec, "rows", parse_body('{"Totals": {"Sum": 1, "2025-01": 2}}')) == []


def test_pattern_properties_are_declared(tmp_path: Path) -> None:
    schema = {"type": "object", "properties": {"Id": {"type": "string"}}, "patternProperties": {"^x-": {}}}
    spec = official_like(tmp_path, schema)
    found = extra_fields(spec, "rows", parse_body('{"Id": "a", "x-trace": "t", "Other": 1}'))
    assert [v.location for v in found] == ["Other"]


def test_object_without_properties_is_not_checked_for_extras(tmp_path: Path) -> None:
    spec = official_like(tmp_path, {"type": "object", "properties": {"Data": {"type": "array", "items": {"type": "object"}}}})
    assert extra_fields(spec, "rows", parse_body('{"Data": [{"Anything": 1}]}')) == []


def test_extra_fields_through_all_of(tmp_path: Path) -> None:
    schema = {"allOf": [{"type": "object", "properties": {"A": {}}}, {"properties": {"B": {}}}]}
    spec = official_like(tmp_path, schema)
    found = extra_fields(spec, "rows", parse_body('{"A": 1, "B": 2, "C": 3}'))
    assert [v.location for v in found] == ["C"]


def test_extra_fields_in_recursive_schema(tmp_path: Path) -> None:
    document = {
        "openapi": "3.1.0",
        "info": {"title": "Tree", "version": "1"},
        "paths": {"/tree": {"get": {"operationId": "tree", "responses": {"200": {"description": "ok",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Node"}}}}}}}},
        "components": {"schemas": {"Node": {"type": "object", "properties": {
            "Name": {"type": "string"},
            "Children": {"type": "array", "items": {"$ref": "#/components/schemas/Node"}},
        }}}},
    }
    path = tmp_path / "tree.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    spec = load_spec(path)
    body = parse_body('{"Name": "a", "Children": [{"Name": "b", "Children": [{"Name": "c", "Colour": "red"}]}]}')
    assert [v.location for v in extra_fields(spec, "tree", body)] == ["Children[0].Children[0].Colour"]


# --- the spec swap -----------------------------------------------------------------------


def test_swapped_document_changes_the_rules(tmp_path: Path) -> None:
    document = yaml.safe_load(DEFAULT_SPEC_PATH.read_text("utf-8"))
    item = document["components"]["schemas"]["ChartOfAccountsItem"]
    item["properties"]["AccountTitle"] = item["properties"].pop("AccountName")
    item["required"] = ["AccountTitle" if name == "AccountName" else name for name in item["required"]]
    path = tmp_path / "official.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    swapped = load_spec(path)
    body = chart(account())

    violations = check_body(swapped, "listChartOfAccounts", body)
    undeclared = extra_fields(swapped, "listChartOfAccounts", parse_body(body))

    assert [(v.location, v.rule, v.message) for v in violations] == [
        ("Data[0].AccountTitle", "required", "Data[0] is missing required field 'AccountTitle'")
    ]
    assert [(v.location, v.field, v.value) for v in undeclared] == [("Data[0].AccountName", "AccountName", '"Cash"')]


def test_bundled_document_accepts_the_same_body(spec: Spec) -> None:
    body = chart(account())
    assert check_body(spec, "listChartOfAccounts", body) == []


# --- text helpers ------------------------------------------------------------------------


def test_format_location_quotes_odd_keys() -> None:
    assert format_location(["Data", 3, "Date"]) == "Data[3].Date"
    assert format_location([]) == "$"
    assert format_location(["Pagination", "total"]) == "Pagination.total"
    assert format_location(["Data", 0, "Account Name"]) == 'Data[0]["Account Name"]'


def test_value_text_writes_decimals_as_numbers() -> None:
    assert value_text({"Amount": Decimal("1.10"), "Ok": None}) == '{"Amount": 1.10, "Ok": null}'


def test_value_text_cuts_long_lists_early() -> None:
    text = value_text(list(range(1_000_000)))
    assert len(text) == 80
    assert text.endswith("…")
