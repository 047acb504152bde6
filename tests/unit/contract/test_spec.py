from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from reach_dq.contract.spec import DEFAULT_SPEC_PATH, Spec, load_spec
from reach_dq.exceptions import ContractError

OPERATIONS = {
    "getOAuthDiscovery": ("GET", "/auth/oauth-discovery"),
    "authorize": ("GET", "/oauth2/authorize"),
    "getToken": ("POST", "/oauth2/token"),
    "getUserInfo": ("GET", "/oauth2/user-info"),
    "getCompany": ("GET", "/companies/{CompanyId}"),
    "listChartOfAccounts": ("GET", "/companies/{CompanyId}/chart-of-accounts"),
    "listBudgets": ("GET", "/companies/{CompanyId}/budgets"),
    "listClasses": ("GET", "/companies/{CompanyId}/classes"),
    "listDepartments": ("GET", "/companies/{CompanyId}/departments"),
    "listNonFinancialMetrics": ("GET", "/companies/{CompanyId}/non-financial-metrics"),
    "getNonFinancialValues": ("POST", "/companies/{CompanyId}/non-financial"),
    "getProfitAndLoss": ("GET", "/companies/{CompanyId}/profit-and-loss"),
    "getBalanceSheet": ("GET", "/companies/{CompanyId}/balance-sheet"),
    "getCashFlow": ("GET", "/companies/{CompanyId}/cash-flow"),
}

NO_AUTH = {"getOAuthDiscovery", "authorize", "getToken"}


@pytest.fixture(scope="module")
def spec() -> Spec:
    return load_spec()


@pytest.fixture(scope="module")
def raw_document() -> dict[str, Any]:
    return yaml.safe_load(DEFAULT_SPEC_PATH.read_text("utf-8"))


def write(tmp_path: Path, text: str, name: str = "openapi.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def minimal_document(**schemas: Any) -> dict[str, Any]:
    """Return an OpenAPI 3.1 document with one GET /things operation per schema."""
    paths = {}
    for name, schema in schemas.items():
        paths[f"/{name}"] = {
            "get": {
                "operationId": name,
                "responses": {
                    "200": {"description": "ok", "content": {"application/json": {"schema": schema}}}
                },
            }
        }
    return {"openapi": "3.1.0", "info": {"title": "T", "version": "1"}, "paths": paths}


def walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


# --- the bundled document ----------------------------------------------------------------


def test_bundled_document_identity(spec: Spec) -> None:
    assert spec.title == "Reach API 1.0.3 (reconstructed)"
    assert spec.version == "1.0.3"
    assert spec.source == DEFAULT_SPEC_PATH
    assert spec.document["openapi"] == "3.1.0"


def test_bundled_document_says_it_is_not_official(spec: Spec) -> None:
    assert "This is not the official Reach specification." in spec.document["info"]["description"]


def test_bundled_operations_and_paths(spec: Spec) -> None:
    found = {op_id: (op.method, op.path) for op_id, op in spec.operations.items()}
    assert found == OPERATIONS


def test_bundled_document_is_valid_openapi_31(raw_document: dict[str, Any]) -> None:
    from schemathesis.specs.openapi.definitions import OPENAPI_31

    errors = [error.message for error in jsonschema.Draft202012Validator(OPENAPI_31).iter_errors(raw_document)]
    assert errors == []


def test_every_resolved_schema_is_valid_json_schema(spec: Spec) -> None:
    schemas = []
    for operation in spec.operations.values():
        schemas.extend(operation.response_schemas.values())
        schemas.extend(parameter.schema for parameter in operation.parameters)
        if operation.request_body_schema is not None:
            schemas.append(operation.request_body_schema)
    assert len(schemas) > 60
    for schema in schemas:
        jsonschema.Draft202012Validator.check_schema(schema)


def test_resolved_schemas_hold_no_refs(spec: Spec) -> None:
    for operation in spec.operations.values():
        for schema in operation.response_schemas.values():
            assert not [node for node in walk(schema) if "$ref" in node], operation.operation_id


def test_only_server_is_localhost(raw_document: dict[str, Any]) -> None:
    assert raw_document["servers"] == [
        {
            "url": "http://localhost:{port}",
            "description": "A partner API on this machine, such as the reach-dq reference partner server.",
            "variables": {"port": {"default": "3000"}},
        }
    ]


def test_no_other_host_anywhere() -> None:
    text = DEFAULT_SPEC_PATH.read_text("utf-8")
    hosts = set(re.findall(r"[a-z]+://([^/\s\"']+)", text))
    assert hosts == {"localhost:{port}", "localhost:3000"}


def test_oauth2_scheme_uses_relative_urls(raw_document: dict[str, Any]) -> None:
    scheme = raw_document["components"]["securitySchemes"]["OAuth2"]
    flow = scheme["flows"]["authorizationCode"]
    assert scheme["type"] == "oauth2"
    assert flow["authorizationUrl"] == "/oauth2/authorize"
    assert flow["tokenUrl"] == "/oauth2/token"


def test_auth_operations_need_no_token(spec: Spec) -> None:
    assert spec.document["security"] == [{"OAuth2": []}]
    for path_item in spec.document["paths"].values():
        for operation in path_item.values():
            expected = [] if operation["operationId"] in NO_AUTH else None
            assert operation.get("security") == expected, operation["operationId"]


def test_document_keeps_plain_openapi_31_types(raw_document: dict[str, Any]) -> None:
    nodes = list(walk(raw_document["components"]["schemas"]))
    assert [node for node in nodes if "anyOf" in node or "oneOf" in node] == []
    assert [node for node in nodes if "nullable" in node] == []
    assert [node for node in nodes if "multipleOf" in node] == []
    assert [node for node in nodes if node.get("additionalProperties") is False] == []


def test_every_data_item_requires_all_its_fields(raw_document: dict[str, Any]) -> None:
    schemas = raw_document["components"]["schemas"]
    items = ["UserInfo", "UserCompany", "Company", "ChartOfAccountsItem", "Budget", "Class",
             "Department", "NonFinancialMetric", "NonFinancialValue", "StatementRow",
             "PaginationMetadata", "Error"]
    for name in items:
        assert sorted(schemas[name]["required"]) == sorted(schemas[name]["properties"]), name


def test_envelopes_require_data(raw_document: dict[str, Any]) -> None:
    schemas = raw_document["components"]["schemas"]
    assert schemas["ChartOfAccountsPage"]["required"] == ["Data", "Pagination"]
    assert schemas["Statement"]["required"] == ["Data"]
    assert schemas["NonFinancialValues"]["required"] == ["Data"]


def test_date_schema_has_format_and_pattern(spec: Spec) -> None:
    date = spec.response_schema("getProfitAndLoss")["properties"]["Data"]["items"]["properties"]["Date"]
    assert date["type"] == "string"
    assert date["format"] == "date"
    assert date["pattern"] == r"^\d{4}-\d{2}-\d{2}$"


def test_nullable_fields_use_type_arrays(spec: Spec) -> None:
    item = spec.response_schema("listChartOfAccounts")["properties"]["Data"]["items"]
    assert item["properties"]["AccountNumber"]["type"] == ["string", "null"]
    assert item["properties"]["ParentAccountId"]["type"] == ["string", "null"]
    assert item["properties"]["CashFlowCategory"]["type"] == ["string", "null"]
    assert item["properties"]["CashFlowCategory"]["enum"] == ["CASH", "OPERATING", "INVESTING", "FINANCING", None]


def test_money_is_a_plain_number(spec: Spec) -> None:
    amount = spec.response_schema("getCashFlow")["properties"]["Data"]["items"]["properties"]["Amount"]
    assert amount["type"] == "number"
    assert "multipleOf" not in amount


def test_pagination_parameters(spec: Spec) -> None:
    parameters = {p.name: p for p in spec.operation("listBudgets").parameters}
    assert parameters["offset"].location == "query"
    assert parameters["offset"].required is False
    assert parameters["offset"].schema == {
        "type": "integer", "minimum": 0, "default": 0
    }
    assert parameters["limit"].schema == {
        "type": "integer", "minimum": 1, "maximum": 1000, "default": 100
    }
    assert parameters["CompanyId"].location == "path"
    assert parameters["CompanyId"].required is True


def test_statement_parameters(spec: Spec) -> None:
    parameters = {p.name: p for p in spec.operation("getBalanceSheet").parameters}
    required = sorted(name for name, p in parameters.items() if p.required)
    assert required == ["AccountingBasis", "CompanyId", "EndDate", "StartDate"]
    assert parameters["AccountingBasis"].schema["enum"] == ["CASH", "ACCRUAL"]
    assert sorted(parameters) == sorted(
        ["CompanyId", "StartDate", "EndDate", "AccountingBasis", "BudgetId", "ClassId", "DepartmentId"]
    )


def test_non_financial_request_body(spec: Spec) -> None:
    body = spec.operation("getNonFinancialValues").request_body_schema
    assert body is not None
    assert body["required"] == ["NonFinancialIds", "StartDate", "EndDate"]
    assert sorted(body["properties"]) == ["BudgetId", "ClassId", "EndDate", "NonFinancialIds", "StartDate"]


def test_error_responses_use_error_schema(spec: Spec) -> None:
    error = {"type": "object", "required": ["Message"], "properties": {"Message": {
        "description": "What was wrong with the request, in a sentence.", "type": "string"}}}
    operation = spec.operation("getProfitAndLoss")
    assert sorted(operation.response_schemas) == ["200", "400", "401", "403", "404"]
    for status in (400, 401, 403, 404):
        assert spec.response_schema("getProfitAndLoss", status) == error


def test_company_schema(spec: Spec) -> None:
    company = spec.response_schema("getCompany")
    assert company["required"] == ["CompanyId", "CompanyName", "FiscalMonthEnd", "Currency"]
    assert company["properties"]["FiscalMonthEnd"]["minimum"] == 1
    assert company["properties"]["FiscalMonthEnd"]["maximum"] == 12
    assert company["properties"]["Currency"]["pattern"] == "^[A-Z]{3}$"


# --- lookups -----------------------------------------------------------------------------


def test_unknown_operation_names_id_and_file(spec: Spec) -> None:
    with pytest.raises(ContractError) as raised:
        spec.operation("getLedger")
    assert str(raised.value) == f"the OpenAPI document {str(DEFAULT_SPEC_PATH)!r} has no operation 'getLedger'"


def test_missing_response_status_is_contract_error(spec: Spec) -> None:
    with pytest.raises(ContractError) as raised:
        spec.response_schema("getOAuthDiscovery", 404)
    assert str(raised.value) == (
        f"operation 'getOAuthDiscovery' in {str(DEFAULT_SPEC_PATH)!r} declares no JSON response "
        "body for status 404; declared: ['200']"
    )


def test_status_range_and_default_fallback(tmp_path: Path) -> None:
    document = minimal_document(things={"type": "object"})
    responses = document["paths"]["/things"]["get"]["responses"]
    responses["2xx"] = {"description": "x", "content": {"application/json": {"schema": {"type": "array"}}}}
    responses["default"] = {"description": "x", "content": {"application/json": {"schema": {"type": "string"}}}}
    spec = load_spec(write(tmp_path, json.dumps(document), "openapi.json"))
    assert spec.response_schema("things", 200) == {"type": "object"}
    assert spec.response_schema("things", 201) == {"type": "array"}
    assert spec.response_schema("things", 500) == {"type": "string"}


def test_match_by_method_and_path(spec: Spec) -> None:
    operation = spec.match("get", "/companies/C%2F1/chart-of-accounts?offset=0&limit=100")
    assert operation is not None
    assert operation.operation_id == "listChartOfAccounts"


def test_match_tolerates_base_path_prefix(spec: Spec) -> None:
    operation = spec.match("GET", "/api/v2/companies/C001")
    assert operation is not None
    assert operation.operation_id == "getCompany"


def test_match_wrong_method_is_none(spec: Spec) -> None:
    assert spec.match("DELETE", "/companies/C001") is None


# --- loading errors ----------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    with pytest.raises(ContractError) as raised:
        load_spec(path)
    assert str(raised.value) == f"OpenAPI document {str(path)!r} not found"


def test_directory_instead_of_file(tmp_path: Path) -> None:
    with pytest.raises(ContractError) as raised:
        load_spec(tmp_path)
    assert str(raised.value) == f"OpenAPI document {str(tmp_path)!r} is a directory"


def test_invalid_yaml(tmp_path: Path) -> None:
    path = write(tmp_path, "openapi: 3.1.0\ninfo: {title: [unclosed\n")
    # libyaml and PyYAML's own parser word the same problem differently
    if hasattr(yaml, "CSafeLoader"):
        problem = "did not find expected ',' or ']'"
    else:
        problem = "expected ',' or ']', but got '<stream end>'"
    with pytest.raises(ContractError) as raised:
        load_spec(path)
    assert str(raised.value) == f"OpenAPI document {str(path)!r} is not valid YAML: {problem} (line 3, column 1)"


def test_invalid_json(tmp_path: Path) -> None:
    path = write(tmp_path, '{"openapi": "3.1.0",}', "openapi.json")
    with pytest.raises(ContractError) as raised:
        load_spec(path)
    assert str(raised.value) == (
        f"OpenAPI document {str(path)!r} is not valid JSON: "
        "Expecting property name enclosed in double quotes (line 1, column 21)"
    )


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "openapi.yaml"
    path.write_bytes(b"openapi: 3.1.0\ntitle: caf\xe9\n")
    with pytest.raises(ContractError) as raised:
        load_spec(path)
    assert str(raised.value).startswith(f"OpenAPI document {str(path)!r} is not UTF-8 text: ")


def test_top_level_list(tmp_path: Path) -> None:
    path = write(tmp_path, "- openapi\n")
    with pytest.raises(ContractError) as raised:
        load_spec(path)
    assert str(raised.value) == f"OpenAPI document {str(path)!r} must be a mapping at the top level, got list"


def test_document_without_openapi_field(tmp_path: Path) -> None:
    path = write(tmp_path, "info: {title: T, version: '1'}\npaths: {}\n")
    with pytest.raises(ContractError) as raised:
        load_spec(path)
    assert str(raised.value) == (
        f"OpenAPI document {str(path)!r} has no 'openapi' field; expected an OpenAPI 3.x "
        "document starting with a line such as 'openapi: 3.1.0'"
    )


def test_swagger_2_document(tmp_path: Path) -> None:
    path = write(tmp_path, "swagger: '2.0'\ninfo: {title: T, version: '1'}\npaths: {}\n")
    with pytest.raises(ContractError) as raised:
        load_spec(path)
    assert str(raised.value) == f"OpenAPI document {str(path)!r} is Swagger 2.0; expected OpenAPI 3.x (convert it first)"


def test_unquoted_numeric_openapi_version(tmp_path: Path) -> None:
    path = write(tmp_path, "openapi: 3.1\ninfo: {title: T, version: '1'}\npaths: {}\n")
    with pytest.raises(ContractError) as raised:
        load_spec(path)
    assert str(raised.value) == (
        f"OpenAPI document {str(path)!r} has openapi 3.1; expected a 3.x version such as "
        "'3.1.0' (quote it in YAML)"
    )


def test_numeric_info_version(tmp_path: Path) -> None:
    path = write(tmp_path, "openapi: 3.1.0\ninfo: {title: T, version: 1.0}\npaths: {}\n")
    with pytest.raises(ContractError) as raised:
        load_spec(path)
    assert str(raised.value) == (
        f"OpenAPI document {str(path)!r} has info.version 1.0; expected a string (quote it in YAML)"
    )


def test_document_without_operations(tmp_path: Path) -> None:
    path = write(tmp_path, "openapi: 3.1.0\ninfo: {title: T, version: '1'}\npaths: {}\n")
    with pytest.raises(ContractError) as raised:
        load_spec(path)
    assert str(raised.value) == f"OpenAPI document {str(path)!r} describes no operations"


def test_ref_to_nothing(tmp_path: Path) -> None:
    path = write(tmp_path, json.dumps(minimal_document(things={"$ref": "#/components/schemas/Gone"})), "o.json")
    with pytest.raises(ContractError) as raised:
        load_spec(path)
    assert str(raised.value) == (
        f"OpenAPI document {str(path)!r}: $ref '#/components/schemas/Gone' at GET /things "
        "response 200 application/json points to nothing"
    )


def test_external_ref_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, json.dumps(minimal_document(things={"$ref": "common.yaml#/Thing"})), "o.json")
    with pytest.raises(ContractError) as raised:
        load_spec(path)
    assert str(raised.value) == (
        f"OpenAPI document {str(path)!r}: $ref 'common.yaml#/Thing' at GET /things response 200 "
        "application/json is not a local reference (#/...); bundle the document into one file first"
    )


def test_invalid_json_schema_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, json.dumps(minimal_document(things={"type": "date"})), "o.json")
    with pytest.raises(ContractError) as raised:
        load_spec(path)
    assert str(raised.value).startswith(
        f"OpenAPI document {str(path)!r}: the schema at GET /things response 200 "
        "application/json is not a valid JSON Schema: "
    )


def test_duplicate_operation_id(tmp_path: Path) -> None:
    document = minimal_document(things={"type": "object"}, others={"type": "object"})
    document["paths"]["/others"]["get"]["operationId"] = "things"
    path = write(tmp_path, json.dumps(document), "o.json")
    with pytest.raises(ContractError) as raised:
        load_spec(path)
    assert str(raised.value) == f"OpenAPI document {str(path)!r} uses operationId 'things' twice"


# --- resolution --------------------------------------------------------------------------


def test_recursive_schema_loads_and_validates(tmp_path: Path) -> None:
    document = minimal_document(tree={"$ref": "#/components/schemas/Node"})
    document["components"] = {"schemas": {"Node": {
        "type": "object",
        "required": ["Name"],
        "properties": {"Name": {"type": "string"}, "Children": {"type": "array", "items": {"$ref": "#/components/schemas/Node"}}},
    }}}
    spec = load_spec(write(tmp_path, json.dumps(document), "o.json"))
    schema = spec.response_schema("tree")
    validator = jsonschema.Draft202012Validator(schema)
    assert schema["properties"]["Children"]["items"] == {"$ref": "#/$defs/components_schemas_Node"}
    assert validator.is_valid({"Name": "a", "Children": [{"Name": "b", "Children": [{"Name": "c"}]}]})
    assert not validator.is_valid({"Name": "a", "Children": [{"Children": [{"Name": "c"}]}]})


@pytest.mark.timeout(10)
def test_shared_components_stay_linear(tmp_path: Path) -> None:
    levels = 40
    schemas = {
        f"L{i}": {"type": "object", "properties": {
            "a": {"$ref": f"#/components/schemas/L{i + 1}"},
            "b": {"$ref": f"#/components/schemas/L{i + 1}"},
        }}
        for i in range(levels)
    }
    schemas[f"L{levels}"] = {"type": "integer"}
    document = minimal_document(deep={"$ref": "#/components/schemas/L0"})
    document["components"] = {"schemas": schemas}
    schema = load_spec(write(tmp_path, json.dumps(document), "o.json")).response_schema("deep")
    assert schema["properties"]["a"] is schema["properties"]["b"]


def test_invalid_nested_schema_rejected(tmp_path: Path) -> None:
    document = minimal_document(things={"type": "object", "properties": {"Amount": {"type": "money"}}})
    path = write(tmp_path, json.dumps(document), "o.json")
    with pytest.raises(ContractError) as raised:
        load_spec(path)
    assert str(raised.value) == (
        f"OpenAPI document {str(path)!r}: the schema at GET /things response 200 "
        "application/json is not a valid JSON Schema: 'money' is not valid under any of the given schemas"
    )


def test_mutually_recursive_schemas_load(tmp_path: Path) -> None:
    document = minimal_document(a={"$ref": "#/components/schemas/A"})
    document["components"] = {"schemas": {
        "A": {"type": "object", "properties": {"b": {"$ref": "#/components/schemas/B"}}},
        "B": {"type": "object", "properties": {"a": {"$ref": "#/components/schemas/A"}, "n": {"type": "integer"}}},
    }}
    schema = load_spec(write(tmp_path, json.dumps(document), "o.json")).response_schema("a")
    validator = jsonschema.Draft202012Validator(schema)
    assert validator.is_valid({"b": {"a": {"b": {"n": 1}}}})
    assert not validator.is_valid({"b": {"a": {"b": {"n": "x"}}}})


def test_circular_response_ref_is_reported(tmp_path: Path) -> None:
    document = minimal_document(things={"type": "object"})
    document["paths"]["/things"]["get"]["responses"]["200"] = {"$ref": "#/components/responses/A"}
    document["components"] = {"responses": {"A": {"$ref": "#/components/responses/B"}, "B": {"$ref": "#/components/responses/A"}}}
    path = write(tmp_path, json.dumps(document), "o.json")
    with pytest.raises(ContractError) as raised:
        load_spec(path)
    assert str(raised.value) == (
        f"OpenAPI document {str(path)!r}: circular $ref at GET /things response 200: "
        "#/components/responses/A -> #/components/responses/B -> #/components/responses/A"
    )


def test_ref_with_constraint_siblings_keeps_both(tmp_path: Path) -> None:
    document = minimal_document(things={"$ref": "#/components/schemas/Name", "maxLength": 3})
    document["components"] = {"schemas": {"Name": {"type": "string"}}}
    schema = load_spec(write(tmp_path, json.dumps(document), "o.json")).response_schema("things")
    assert schema == {"allOf": [{"type": "string"}], "maxLength": 3}


def test_openapi_30_nullable_becomes_type_array(tmp_path: Path) -> None:
    document = minimal_document(things={
        "type": "object",
        "properties": {
            "Code": {"type": "string", "nullable": True, "enum": ["A", "B"]},
            "Ref": {"allOf": [{"type": "string"}], "nullable": True},
            "Low": {"type": "number", "minimum": 0, "exclusiveMinimum": True},
        },
    })
    document["openapi"] = "3.0.3"
    schema = load_spec(write(tmp_path, json.dumps(document), "o.json")).response_schema("things")
    assert schema["properties"]["Code"] == {"type": ["string", "null"], "enum": ["A", "B", None]}
    assert schema["properties"]["Ref"] == {"anyOf": [{"allOf": [{"type": "string"}]}, {"type": "null"}]}
    assert schema["properties"]["Low"] == {"type": "number", "exclusiveMinimum": 0}


def test_yaml_dates_and_integer_status_codes_kept(tmp_path: Path) -> None:
    text = (
        "openapi: 3.1.0\ninfo: {title: T, version: '1'}\npaths:\n  /d:\n    get:\n"
        "      operationId: d\n      responses:\n        200:\n          description: ok\n"
        "          content:\n            application/json:\n              schema:\n"
        "                type: string\n                enum: [2025-01-31]\n"
    )
    spec = load_spec(write(tmp_path, text))
    assert spec.response_schema("d", 200) == {"type": "string", "enum": ["2025-01-31"]}


def test_operation_without_id_keyed_by_method_and_path(tmp_path: Path) -> None:
    document = minimal_document(things={"type": "object"})
    del document["paths"]["/things"]["get"]["operationId"]
    spec = load_spec(write(tmp_path, json.dumps(document), "o.json"))
    assert list(spec.operations) == ["GET /things"]


def test_path_level_parameters_merged(tmp_path: Path) -> None:
    document = minimal_document(things={"type": "object"})
    document["paths"]["/things"]["parameters"] = [
        {"name": "Id", "in": "path", "schema": {"type": "string"}},
        {"name": "q", "in": "query", "schema": {"type": "string"}},
    ]
    document["paths"]["/things"]["get"]["parameters"] = [{"name": "q", "in": "query", "required": True, "schema": {"type": "integer"}}]
    spec = load_spec(write(tmp_path, json.dumps(document), "o.json"))
    parameters = {p.name: p for p in spec.operation("things").parameters}
    assert parameters["Id"].required is True
    assert parameters["q"].required is True
    assert parameters["q"].schema == {"type": "integer"}
