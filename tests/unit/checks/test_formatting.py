from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from checks import formatting
from checks.formatting import CHECK_EXTRA_FIELDS, CHECK_RESPONSE_SCHEMA, formatting_checks
from reach_dq.contract.spec import DEFAULT_SPEC_PATH, Spec, load_spec
from reach_dq.datasets import DATASETS
from reach_dq.findings import Category, FailureCase, Finding, Outcome
from reach_dq.runner import CheckContext, run_checks
from reach_dq.warehouse.ddl import create_tables

SNAPSHOT = "snap-1"
MONTH = dt.date(2025, 1, 31)

PATHS = {
    "getUserInfo": "/oauth2/user-info",
    "getCompany": "/companies/{c}",
    "listChartOfAccounts": "/companies/{c}/chart-of-accounts?offset=0&limit=100",
    "listBudgets": "/companies/{c}/budgets?offset=0&limit=100",
    "listClasses": "/companies/{c}/classes?offset=0&limit=100",
    "listDepartments": "/companies/{c}/departments?offset=0&limit=100",
    "listNonFinancialMetrics": "/companies/{c}/non-financial-metrics?offset=0&limit=100",
    "getNonFinancialValues": "/companies/{c}/non-financial",
    "getProfitAndLoss": "/companies/{c}/profit-and-loss?StartDate=2025-01-01&EndDate=2025-01-31&AccountingBasis=ACCRUAL",
    "getBalanceSheet": "/companies/{c}/balance-sheet?StartDate=2025-01-01&EndDate=2025-01-31&AccountingBasis=ACCRUAL",
    "getCashFlow": "/companies/{c}/cash-flow?StartDate=2025-01-01&EndDate=2025-01-31&AccountingBasis=ACCRUAL",
}

ACCOUNTS = [
    {"AccountId": "1000", "AccountNumber": "1000", "AccountName": "Cash", "AccountType": "ASSET",
     "ParentAccountId": None, "IsActive": True, "CashFlowCategory": "CASH"},
    {"AccountId": "4000", "AccountNumber": None, "AccountName": "Sales", "AccountType": "REVENUE",
     "ParentAccountId": None, "IsActive": True, "CashFlowCategory": None},
]


def page(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {"Data": items, "Pagination": {"offset": 0, "limit": 100, "total": len(items)}}


def clean_bodies(company_id: str) -> dict[str, Any]:
    """Return a clean 200 body for every data operation of one company."""
    return {
        "getCompany": {"CompanyId": company_id, "CompanyName": "Acme", "FiscalMonthEnd": 12, "Currency": "USD"},
        "listChartOfAccounts": page(ACCOUNTS),
        "listBudgets": page([{"BudgetId": "B1", "BudgetName": "2025 Operating Budget",
                              "StartDate": "2025-01-01", "EndDate": "2025-12-31"}]),
        "listClasses": page([{"ClassId": "K1", "ClassName": "Retail", "ParentClassId": None, "IsActive": True}]),
        "listDepartments": page([]),
        "listNonFinancialMetrics": page([{"NonFinancialId": "N1", "Name": "Headcount", "Unit": "COUNT"}]),
        "getNonFinancialValues": {"Data": [{"NonFinancialId": "N1", "Date": "2025-01-31", "Value": 12}]},
        "getProfitAndLoss": {"Data": [{"AccountId": "4000", "Date": "2025-01-31", "Amount": 1234.56}]},
        "getBalanceSheet": {"Data": [{"AccountId": "1000", "Date": "2025-01-31", "Amount": 1234.56}]},
        "getCashFlow": {"Data": []},
    }


USER_INFO = {"sub": "u1", "name": "Ann", "email": "ann@example.test",
             "Companies": [{"CompanyId": "C001", "CompanyName": "Acme"}]}


class Snapshot:
    """Rows of http_exchanges and raw_responses in an in-memory warehouse."""

    def __init__(self) -> None:
        self.connection = duckdb.connect()
        create_tables(self.connection)
        self.next_id = 1

    def add(
        self,
        operation_id: str,
        body: Any,
        *,
        company_id: str | None = "C001",
        status: int | None = 200,
        basis: str | None = None,
        snapshot_id: str = SNAPSHOT,
        path: str | None = None,
    ) -> int:
        exchange_id = self.next_id
        self.next_id += 1
        text = body if isinstance(body, str) or body is None else json.dumps(body)
        request_path = path or PATHS[operation_id].format(c=company_id)
        method = "POST" if operation_id == "getNonFinancialValues" else "GET"
        self.connection.execute(
            "INSERT INTO http_exchanges (snapshot_id, exchange_id, operation_id, company_id, method, "
            "path, basis, attempt, status_code, started_at) VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, now())",
            [snapshot_id, exchange_id, operation_id, company_id, method, request_path, basis, status],
        )
        if text is not None:
            self.connection.execute(
                "INSERT INTO raw_responses VALUES (?, ?, ?)", [snapshot_id, exchange_id, text]
            )
        return exchange_id

    def add_clean_company(self, company_id: str) -> None:
        for operation_id, body in clean_bodies(company_id).items():
            basis = "ACCRUAL" if operation_id in ("getProfitAndLoss", "getBalanceSheet", "getCashFlow") else None
            self.add(operation_id, body, company_id=company_id, basis=basis)

    def run(self, spec: Spec) -> list[Finding]:
        context = CheckContext(self.connection, SNAPSHOT, spec, MONTH, MONTH, MONTH)
        return run_checks(formatting_checks(), context)


@pytest.fixture(scope="module")
def spec() -> Spec:
    return load_spec()


@pytest.fixture
def snapshot() -> Iterator[Snapshot]:
    snap = Snapshot()
    yield snap
    snap.connection.close()


def one(findings: list[Finding], check: str, dataset: str, company_id: str | None = "C001") -> Finding:
    matches = [f for f in findings if f.check == check and f.dataset == dataset and f.company_id == company_id]
    assert len(matches) == 1, [(f.check, f.dataset, f.company_id) for f in findings]
    return matches[0]


# --- the checks themselves ---------------------------------------------------------------


def test_checks_cover_every_dataset() -> None:
    checks = formatting_checks()
    names = tuple(dataset.name for dataset in DATASETS)
    assert [(c.name, c.category, c.datasets) for c in checks] == [
        (CHECK_RESPONSE_SCHEMA, Category.FORMATTING, names),
        (CHECK_EXTRA_FIELDS, Category.FORMATTING, names),
    ]


def test_clean_snapshot_passes(snapshot: Snapshot, spec: Spec) -> None:
    snapshot.add("getUserInfo", USER_INFO, company_id=None)
    snapshot.add_clean_company("C001")
    findings = snapshot.run(spec)

    assert len(findings) == 2 * len(DATASETS)
    assert {f.outcome for f in findings} == {Outcome.PASSED}
    assert {f.category for f in findings} == {Category.FORMATTING}


def test_clean_messages(snapshot: Snapshot, spec: Spec) -> None:
    snapshot.add("getUserInfo", USER_INFO, company_id=None)
    snapshot.add_clean_company("C001")
    findings = snapshot.run(spec)

    chart = one(findings, CHECK_RESPONSE_SCHEMA, "chart_of_accounts")
    user_info = one(findings, CHECK_RESPONSE_SCHEMA, "user_info", None)
    extras = one(findings, CHECK_EXTRA_FIELDS, "company")
    assert chart.message == "chart_of_accounts for C001: no violations in 1 response with 2 items"
    assert chart.failure_count == 0
    assert user_info.message == "user_info: no violations in 1 response with 1 item"
    assert extras.message == "company for C001: no undeclared fields in 1 response"


def test_missing_required_field_fails(snapshot: Snapshot, spec: Spec) -> None:
    broken = [{k: v for k, v in ACCOUNTS[0].items() if k != "AccountName"}, ACCOUNTS[1]]
    snapshot.add("listChartOfAccounts", page(broken))
    finding = one(snapshot.run(spec), CHECK_RESPONSE_SCHEMA, "chart_of_accounts")

    assert finding.outcome is Outcome.FAILED
    assert finding.message == (
        "chart_of_accounts for C001: 1 of 2 items break the contract; "
        "first: Data[0] is missing required field 'AccountName'"
    )
    assert finding.failure_count == 1
    assert finding.failure_cases == (
        FailureCase(company_id="C001", account_id="1000", field="AccountName", expected="required"),
    )


def test_message_counts_violations_beyond_items(snapshot: Snapshot, spec: Spec) -> None:
    rows = [
        {"AccountId": "4000", "Date": "2025-1-31", "Amount": "10.00"},
        {"AccountId": "5000", "Date": "2025-01-31", "Amount": 5},
    ]
    snapshot.add("getProfitAndLoss", {"Data": rows}, basis="CASH")
    finding = one(snapshot.run(spec), CHECK_RESPONSE_SCHEMA, "profit_and_loss")

    assert finding.failure_count == 2
    assert finding.message.startswith(
        "profit_and_loss for C001: 1 of 2 items break the contract (2 violations); first: "
    )


def test_statement_cases_locate_rows(snapshot: Snapshot, spec: Spec) -> None:
    rows = [
        {"AccountId": "4000", "Date": "2025-1-31", "Amount": 10},
        {"AccountId": "5000", "Date": "2025-01-31", "Amount": "1234.56"},
        {"AccountId": "6000", "Date": "2025-01-31", "Amount": 5},
    ]
    snapshot.add("getProfitAndLoss", {"Data": rows}, basis="CASH")
    finding = one(snapshot.run(spec), CHECK_RESPONSE_SCHEMA, "profit_and_loss")

    assert finding.outcome is Outcome.FAILED
    assert finding.message == (
        "profit_and_loss for C001: 2 of 3 items break the contract; "
        'first: Data[0].Date is "2025-1-31", expected format date (YYYY-MM-DD)'
    )
    assert finding.failure_count == 2
    assert finding.failure_cases == (
        FailureCase(company_id="C001", account_id="4000", date="2025-1-31", basis="CASH",
                    field="Date", expected="format date (YYYY-MM-DD)", actual='"2025-1-31"'),
        FailureCase(company_id="C001", account_id="5000", date="2025-01-31", basis="CASH",
                    field="Amount", expected="type number", actual='"1234.56"'),
    )


def test_envelope_violation_counted_apart_from_items(snapshot: Snapshot, spec: Spec) -> None:
    snapshot.add("listClasses", {"Data": [], "Pagination": {"offset": 0, "limit": 0, "total": 0}})
    finding = one(snapshot.run(spec), CHECK_RESPONSE_SCHEMA, "classes")

    assert finding.message == (
        "classes for C001: 1 of 1 responses break the contract outside their items; "
        "first: Pagination.limit is 0, expected minimum 1"
    )
    assert finding.failure_cases == (
        FailureCase(company_id="C001", field="limit", expected="minimum 1", actual="0"),
    )


def test_violations_across_pages_are_summed(snapshot: Snapshot, spec: Spec) -> None:
    bad = {**ACCOUNTS[0], "IsActive": "yes"}
    snapshot.add("listChartOfAccounts", page([bad, ACCOUNTS[1]]))
    snapshot.add("listChartOfAccounts", page([bad]))
    finding = one(snapshot.run(spec), CHECK_RESPONSE_SCHEMA, "chart_of_accounts")

    assert finding.failure_count == 2
    assert finding.message == (
        "chart_of_accounts for C001: 2 of 3 items break the contract; "
        'first: Data[0].IsActive is "yes", expected type boolean'
    )


def test_html_body_fails_naming_path(snapshot: Snapshot, spec: Spec) -> None:
    snapshot.add("getCompany", "<html>Sign in</html>")
    finding = one(snapshot.run(spec), CHECK_RESPONSE_SCHEMA, "company")

    parse_error = "GET /companies/C001: the body is not valid JSON: Expecting value at line 1 column 1 (char 0)"
    assert finding.outcome is Outcome.FAILED
    assert finding.message == f"company for C001: 1 of 1 responses are not valid JSON; first: {parse_error}"
    assert finding.failure_cases == (
        FailureCase(company_id="C001", expected="valid JSON", actual=parse_error),
    )


def test_nan_body_fails_naming_path(snapshot: Snapshot, spec: Spec) -> None:
    path = "/companies/C001/balance-sheet?StartDate=2025-01-01&EndDate=2025-01-31&AccountingBasis=CASH"
    snapshot.add("getBalanceSheet", '{"Data": [{"AccountId": "1000", "Date": "2025-01-31", "Amount": NaN}]}',
                 basis="CASH", path=path)
    finding = one(snapshot.run(spec), CHECK_RESPONSE_SCHEMA, "balance_sheet")

    expected = f"GET {path}: Data[0].Amount is NaN, which is not valid JSON; expected a finite number"
    assert finding.outcome is Outcome.FAILED
    assert finding.failure_cases == (
        FailureCase(company_id="C001", basis="CASH", field="Amount", expected="finite number", actual=expected),
    )
    assert finding.message == f"balance_sheet for C001: 1 of 1 responses are not valid JSON; first: {expected}"


def test_unparsable_body_skips_extra_fields(snapshot: Snapshot, spec: Spec) -> None:
    snapshot.add("getCompany", "not json")
    finding = one(snapshot.run(spec), CHECK_EXTRA_FIELDS, "company")

    assert finding.outcome is Outcome.NOT_EVALUATED
    assert finding.message == (
        "company for C001: no response could be checked: GET /companies/C001: the body is not "
        "valid JSON: Expecting value at line 1 column 1 (char 0)"
    )


def test_extra_fields_warn_and_list_names(snapshot: Snapshot, spec: Spec) -> None:
    rows = [{"AccountId": "4000", "Date": "2025-01-31", "Amount": 1, "Memo": "a"},
            {"AccountId": "4100", "Date": "2025-01-31", "Amount": 2, "Memo": "b"}]
    snapshot.add("getProfitAndLoss", {"Data": rows, "Currency": "USD"}, basis="ACCRUAL")
    findings = snapshot.run(spec)
    extras = one(findings, CHECK_EXTRA_FIELDS, "profit_and_loss")
    schema = one(findings, CHECK_RESPONSE_SCHEMA, "profit_and_loss")

    assert schema.outcome is Outcome.PASSED
    assert extras.outcome is Outcome.WARNING
    assert extras.message == (
        "profit_and_loss for C001: 3 values in fields the contract does not declare: "
        "Currency, Data[].Memo; first: the body has field 'Currency', which the contract does "
        'not declare (value "USD")'
    )
    assert extras.failure_count == 3
    assert extras.failure_cases == (
        FailureCase(company_id="C001", basis="ACCRUAL", field="Currency",
                    expected="only fields the contract declares", actual='"USD"'),
        FailureCase(company_id="C001", account_id="4000", date="2025-01-31", basis="ACCRUAL",
                    field="Memo", expected="only fields the contract declares", actual='"a"'),
        FailureCase(company_id="C001", account_id="4100", date="2025-01-31", basis="ACCRUAL",
                    field="Memo", expected="only fields the contract declares", actual='"b"'),
    )


def test_summary_counts_each_kind(snapshot: Snapshot, spec: Spec) -> None:
    snapshot.add("listDepartments", {"Data": [{"DepartmentId": 7, "DepartmentName": "Ops",
                                              "ParentDepartmentId": None, "IsActive": True}]})
    snapshot.add("listDepartments", "{")
    finding = one(snapshot.run(spec), CHECK_RESPONSE_SCHEMA, "departments")

    assert finding.failure_count == 3
    assert finding.message == (
        "departments for C001: 1 of 1 items break the contract, 1 of 2 responses break the "
        "contract outside their items, 1 of 2 responses are not valid JSON; first: "
        "Data[0].DepartmentId is 7, expected type string"
    )


def test_failure_cases_capped_count_kept(snapshot: Snapshot, spec: Spec) -> None:
    rows = [{"AccountId": f"A{i}", "Date": "2025-01-31", "Amount": "1"} for i in range(50)]
    snapshot.add("getCashFlow", {"Data": rows})
    finding = one(snapshot.run(spec), CHECK_RESPONSE_SCHEMA, "cash_flow")

    assert finding.failure_count == 50
    assert len(finding.failure_cases) == 20
    assert finding.message.startswith("cash_flow for C001: 50 of 50 items break the contract; ")


# --- nothing to check --------------------------------------------------------------------


def test_no_bodies_is_not_evaluated(snapshot: Snapshot, spec: Spec) -> None:
    findings = snapshot.run(spec)

    assert len(findings) == 2 * len(DATASETS)
    assert {f.outcome for f in findings} == {Outcome.NOT_EVALUATED}
    assert one(findings, CHECK_RESPONSE_SCHEMA, "budgets", None).message == (
        "budgets: no 2xx response body to check (no request was recorded)"
    )


def test_failed_request_not_evaluated(snapshot: Snapshot, spec: Spec) -> None:
    snapshot.add_clean_company("C001")
    snapshot.add("listBudgets", {"Message": "boom"}, company_id="C002", status=500)
    snapshot.add("listBudgets", None, company_id="C002", status=None)
    findings = snapshot.run(spec)

    budgets = one(findings, CHECK_RESPONSE_SCHEMA, "budgets", "C002")
    company = one(findings, CHECK_RESPONSE_SCHEMA, "company", "C002")
    assert budgets.outcome is Outcome.NOT_EVALUATED
    assert budgets.message == "budgets for C002: no 2xx response body to check (statuses received: 500, no response)"
    assert company.message == "company for C002: no 2xx response body to check (no request was recorded)"
    assert one(findings, CHECK_RESPONSE_SCHEMA, "budgets", "C001").outcome is Outcome.PASSED


def test_other_snapshot_is_ignored(snapshot: Snapshot, spec: Spec) -> None:
    snapshot.add("getCompany", "<html>", snapshot_id="snap-0")
    findings = snapshot.run(spec)

    assert one(findings, CHECK_RESPONSE_SCHEMA, "company", None).outcome is Outcome.NOT_EVALUATED


def test_non_2xx_bodies_are_not_checked(snapshot: Snapshot, spec: Spec) -> None:
    snapshot.add("getCompany", {"Message": "unknown company"}, status=404)
    finding = one(snapshot.run(spec), CHECK_RESPONSE_SCHEMA, "company")

    assert finding.outcome is Outcome.NOT_EVALUATED
    assert finding.message == "company for C001: no 2xx response body to check (statuses received: 404)"


def test_findings_ordered_by_dataset_then_company(snapshot: Snapshot, spec: Spec) -> None:
    snapshot.add_clean_company("C002")
    snapshot.add_clean_company("C001")
    findings = [f for f in snapshot.run(spec) if f.check == CHECK_RESPONSE_SCHEMA]

    assert [(f.dataset, f.company_id) for f in findings[:5]] == [
        ("user_info", None), ("company", "C001"), ("company", "C002"),
        ("chart_of_accounts", "C001"), ("chart_of_accounts", "C002"),
    ]


# --- the document decides ----------------------------------------------------------------


def write_swapped(tmp_path: Path, change: Any) -> Spec:
    document = yaml.safe_load(DEFAULT_SPEC_PATH.read_text("utf-8"))
    change(document)
    path = tmp_path / "official.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return load_spec(path)


def test_swapped_document_renames_a_field(snapshot: Snapshot, tmp_path: Path) -> None:
    def rename(document: dict[str, Any]) -> None:
        item = document["components"]["schemas"]["ChartOfAccountsItem"]
        item["properties"]["AccountTitle"] = item["properties"].pop("AccountName")
        item["required"] = ["AccountTitle" if n == "AccountName" else n for n in item["required"]]

    swapped = write_swapped(tmp_path, rename)
    snapshot.add("listChartOfAccounts", page(ACCOUNTS[:1]))
    findings = snapshot.run(swapped)
    schema = one(findings, CHECK_RESPONSE_SCHEMA, "chart_of_accounts")
    extras = one(findings, CHECK_EXTRA_FIELDS, "chart_of_accounts")

    assert schema.message == (
        "chart_of_accounts for C001: 1 of 1 items break the contract; "
        "first: Data[0] is missing required field 'AccountTitle'"
    )
    assert extras.outcome is Outcome.WARNING
    assert extras.failure_cases == (
        FailureCase(company_id="C001", account_id="1000", field="AccountName",
                    expected="only fields the contract declares", actual='"Cash"'),
    )


def test_other_operation_id_found_by_path(snapshot: Snapshot, tmp_path: Path) -> None:
    def rename(document: dict[str, Any]) -> None:
        document["paths"]["/companies/{CompanyId}"]["get"]["operationId"] = "getCompanyInformation"

    swapped = write_swapped(tmp_path, rename)
    snapshot.add("getCompany", {"CompanyId": "C001", "CompanyName": "", "FiscalMonthEnd": 12, "Currency": "USD"})
    finding = one(snapshot.run(swapped), CHECK_RESPONSE_SCHEMA, "company")

    assert finding.message == (
        'company for C001: 1 of 1 items break the contract; first: CompanyName is "", expected minLength 1'
    )


def test_operation_missing_from_document(snapshot: Snapshot, tmp_path: Path) -> None:
    def drop(document: dict[str, Any]) -> None:
        del document["paths"]["/companies/{CompanyId}/classes"]

    swapped = write_swapped(tmp_path, drop)
    snapshot.add("listClasses", page([]))
    finding = one(snapshot.run(swapped), CHECK_RESPONSE_SCHEMA, "classes")

    assert finding.outcome is Outcome.NOT_EVALUATED
    assert finding.message == (
        f"classes for C001: no response could be checked: the OpenAPI document "
        f"{str(tmp_path / 'official.yaml')!r} has no operation 'listClasses' and none matching "
        "GET /companies/C001/classes"
    )


# --- one pass over the bodies for both checks ---------------------------------------------


def add_mixed_bodies(snapshot: Snapshot) -> None:
    """Add clean bodies for two companies and one broken body of every kind."""
    snapshot.add("getUserInfo", USER_INFO, company_id=None)
    snapshot.add_clean_company("C001")
    snapshot.add_clean_company("C002")
    rows = [
        {"AccountId": "4000", "Date": "2025-02-30", "Amount": 1},
        {"AccountId": "4100", "Date": "2025-01-31", "Amount": "2", "Memo": "m"},
        {"AccountId": "", "Date": "2025-01-31"},
    ]
    snapshot.add("getProfitAndLoss", {"Data": rows, "Currency": "USD"}, company_id="C002",
                 basis="CASH")
    snapshot.add("listClasses", {"Data": [], "Pagination": {"offset": 0, "limit": 0, "total": 0}},
                 company_id="C002")
    snapshot.add("getCompany", {"CompanyId": "C002", "CompanyName": "Acme",
                                "FiscalMonthEnd": 12.5, "Currency": "usd"}, company_id="C002")
    snapshot.add("listDepartments", "{", company_id="C002")
    snapshot.add("getBalanceSheet", '{"Data": [{"AccountId": "1", "Date": "2025-01-31", '
                 '"Amount": Infinity}]}', company_id="C002")


def test_compiled_path_matches_full_validation(
    snapshot: Snapshot, spec: Spec, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_mixed_bodies(snapshot)
    decoded = snapshot.run(spec)
    # Without the msgspec decoders, the bodies take the orjson parse and the compiled checks.
    monkeypatch.setattr("checks.formatting.compile_clean_decoder", lambda schema: None)
    quick = snapshot.run(spec)
    # Without the orjson parse, every body is parsed with Decimal numbers.
    monkeypatch.setattr("checks.formatting._quick_parse", lambda text: formatting._UNPARSED)
    compiled = snapshot.run(spec)
    monkeypatch.setattr("checks.formatting.compile_clean_check", lambda schema, **_: None)
    full = snapshot.run(spec)

    assert decoded == full
    assert quick == full
    assert compiled == full
    assert sum(f.outcome is Outcome.FAILED for f in compiled) == 5
    assert sum(f.outcome is Outcome.WARNING for f in compiled) == 1
    assert sum(f.outcome is Outcome.PASSED for f in compiled) == 36


def test_extra_fields_alone_matches_pair(snapshot: Snapshot, spec: Spec) -> None:
    add_mixed_bodies(snapshot)
    context = CheckContext(snapshot.connection, SNAPSHOT, spec, MONTH, MONTH, MONTH)
    _, extra_check = formatting_checks()
    alone = run_checks([extra_check], context)
    paired = [f for f in snapshot.run(spec) if f.check == CHECK_EXTRA_FIELDS]

    assert alone == paired


def test_repeated_check_reads_bodies_again(snapshot: Snapshot, spec: Spec) -> None:
    snapshot.add_clean_company("C001")
    context = CheckContext(snapshot.connection, SNAPSHOT, spec, MONTH, MONTH, MONTH)
    checks = formatting_checks()
    run_checks(checks[:1], context)
    snapshot.add("getCompany", {"CompanyId": "C001", "CompanyName": "Acme",
                                "FiscalMonthEnd": 12, "Currency": "USD", "Region": "EU"})
    findings = run_checks(checks, context)

    assert one(findings, CHECK_EXTRA_FIELDS, "company").outcome is Outcome.WARNING


def test_other_context_not_served_earlier_pass(snapshot: Snapshot, spec: Spec) -> None:
    snapshot.add_clean_company("C001")
    checks = formatting_checks()
    first = CheckContext(snapshot.connection, SNAPSHOT, spec, MONTH, MONTH, MONTH)
    run_checks(checks[:1], first)
    snapshot.add("getCompany", {"CompanyId": "C001", "CompanyName": "Acme",
                                "FiscalMonthEnd": 12, "Currency": "USD", "Region": "EU"})
    second = CheckContext(snapshot.connection, SNAPSHOT, spec, MONTH, MONTH, MONTH)
    findings = run_checks(checks[1:], second)

    assert one(findings, CHECK_EXTRA_FIELDS, "company").outcome is Outcome.WARNING
