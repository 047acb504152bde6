"""Great Expectations suites from expectations/*.json run over pandas frames of one snapshot."""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas
import pytest

from reach_dq.datasets import BY_NAME
from reach_dq.exceptions import ConfigError
from reach_dq.findings import Category, FailureCase, Finding, Outcome
from reach_dq.gx_suites import SuiteRun, default_suites_dir, run_suites
from reach_dq.warehouse.ddl import table_columns

D = Decimal
JAN = dt.date(2024, 1, 31)
FEB = dt.date(2024, 2, 29)

STATEMENT_ROWS = [
    {"basis": "ACCRUAL", "account_id": "4000", "date": JAN, "amount": D("1200.50")},
    {"basis": "ACCRUAL", "account_id": "4000", "date": FEB, "amount": D("980.00")},
    {"basis": "CASH", "account_id": "4000", "date": JAN, "amount": D("1100.00")},
    {"basis": "ACCRUAL", "budget_id": "B1", "account_id": "4000", "date": JAN, "amount": D("1000")},
]

VALID_ROWS: dict[str, list[dict[str, Any]]] = {
    "user_info": [
        {"company_id": "C1", "company_name": "Acme Ltd"},
        {"company_id": "C2", "company_name": "Globex"},
    ],
    "company": [
        {"company_name": "Acme Ltd", "fiscal_month_end": 12, "currency": "USD"},
        {"company_id": "C2", "company_name": "Globex", "fiscal_month_end": 3, "currency": "GBP"},
    ],
    "chart_of_accounts": [
        {
            "account_id": "1000",
            "account_number": "1000",
            "account_name": "Cash",
            "account_type": "ASSET",
            "parent_account_id": None,
            "is_active": True,
            "cash_flow_category": "CASH",
        },
        {
            "account_id": "3000",
            "account_number": None,
            "account_name": "Retained earnings",
            "account_type": "EQUITY",
            "parent_account_id": None,
            "is_active": True,
            "cash_flow_category": None,
        },
        {
            "account_id": "4000",
            "account_number": "4000",
            "account_name": "Sales",
            "account_type": "REVENUE",
            "parent_account_id": None,
            "is_active": False,
            "cash_flow_category": None,
        },
        {
            "company_id": "C2",
            "account_id": "1000",
            "account_number": None,
            "account_name": "Bank",
            "account_type": "ASSET",
            "parent_account_id": None,
            "is_active": True,
            "cash_flow_category": "CASH",
        },
    ],
    "budgets": [
        {
            "budget_id": "B1",
            "budget_name": "Plan 2024",
            "start_date": dt.date(2024, 1, 1),
            "end_date": dt.date(2024, 12, 31),
        },
        {
            "budget_id": "B2",
            "budget_name": "One day",
            "start_date": dt.date(2024, 6, 1),
            "end_date": dt.date(2024, 6, 1),
        },
    ],
    "classes": [
        {"class_id": "K1", "class_name": "Retail", "parent_class_id": None, "is_active": True},
        {"class_id": "K2", "class_name": "Online", "parent_class_id": "K1", "is_active": False},
    ],
    "departments": [
        {
            "department_id": "D1",
            "department_name": "Sales",
            "parent_department_id": None,
            "is_active": True,
        },
    ],
    "non_financial_metrics": [
        {"non_financial_id": "M1", "name": "Headcount", "unit": "COUNT"},
        {"non_financial_id": "M2", "name": "Churn", "unit": "PERCENT"},
        {"non_financial_id": "M3", "name": "Stores", "unit": None},
    ],
    "non_financial_values": [
        {"non_financial_id": "M1", "date": JAN, "value": D("12")},
        {"non_financial_id": "M1", "date": FEB, "value": D("13")},
        {"non_financial_id": "M1", "class_id": "K1", "date": JAN, "value": D("4")},
    ],
    "profit_and_loss": STATEMENT_ROWS,
    "balance_sheet": STATEMENT_ROWS,
    "cash_flow": STATEMENT_ROWS,
}


# pandas dtypes of the frames that the warehouse reads: nullable integers, booleans and strings,
# and object columns of decimal.Decimal and datetime.date values.
PANDAS_DTYPES = {"INTEGER": "Int64", "BIGINT": "Int64", "BOOLEAN": "boolean", "VARCHAR": "str"}


def make_frame(dataset: str, rows: list[dict[str, Any]]) -> pandas.DataFrame:
    """Build the typed table of one snapshot with the columns and dtypes the warehouse returns."""
    context = {
        "snapshot_id": "S1",
        "exchange_id": 7,
        "company_id": "C1",
        "basis": None,
        "budget_id": None,
        "class_id": None,
        "department_id": None,
    }
    records = [{**context, **row} for row in rows]
    series = {
        column.name: pandas.Series(
            [record.get(column.name) for record in records],
            dtype=PANDAS_DTYPES.get(column.sql_type, "object"),
        )
        for column in table_columns(BY_NAME[dataset])
    }
    return pandas.DataFrame(series)


def valid_frames() -> dict[str, pandas.DataFrame]:
    return {dataset: make_frame(dataset, rows) for dataset, rows in VALID_ROWS.items()}


def suite_expectation_count() -> int:
    return sum(
        len(json.loads(path.read_text("utf-8"))["expectations"])
        for path in default_suites_dir().glob("*.json")
    )


def by_check(findings: list[Finding], dataset: str) -> dict[str, Finding]:
    return {finding.check: finding for finding in findings if finding.dataset == dataset}


def write_suite(suites_dir: Path, dataset: str, expectations: list[dict[str, Any]]) -> Path:
    suites_dir.mkdir(exist_ok=True)
    path = suites_dir / f"{dataset}.json"
    document = {"name": f"reach_dq.{dataset}", "expectations": expectations}
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def expectation(type_: str, category: str = "formatting", **kwargs: Any) -> dict[str, Any]:
    return {"type": type_, "kwargs": kwargs, "meta": {"category": category}}


@pytest.fixture(autouse=True)
def _work_in_tmp_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run every test from an empty folder, so a stray GX project folder would be visible."""
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="module")
def passing_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SuiteRun, Path, Path]]:
    """One run of the shipped suites over valid frames, from an empty working directory."""
    workdir = tmp_path_factory.mktemp("cwd")
    home = tmp_path_factory.mktemp("home")
    docs_dir = tmp_path_factory.mktemp("out") / "docs"
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.chdir(workdir)
        monkeypatch.setenv("HOME", str(home))
        run = run_suites(valid_frames(), docs_dir=docs_dir, run_name="nightly-1")
    yield run, workdir, home


def test_every_dataset_has_one_suite() -> None:
    names = {path.stem for path in default_suites_dir().glob("*.json")}
    assert names == set(BY_NAME)


@pytest.mark.parametrize("dataset", sorted(BY_NAME))
def test_suite_expectations_carry_category_and_notes(dataset: str) -> None:
    document = json.loads((default_suites_dir() / f"{dataset}.json").read_text("utf-8"))
    assert document["name"] == f"reach_dq.{dataset}"
    for item in document["expectations"]:
        assert item["meta"]["category"] in {category.value for category in Category}
        assert item["meta"]["notes"].endswith(".")


def test_valid_frames_pass_every_expectation(passing_run: tuple[SuiteRun, Path, Path]) -> None:
    run, _, _ = passing_run
    not_passed = [finding for finding in run.findings if finding.outcome != Outcome.PASSED]
    assert not_passed == []
    assert len(run.findings) == suite_expectation_count()


def test_passing_finding_reports_counts(passing_run: tuple[SuiteRun, Path, Path]) -> None:
    run, _, _ = passing_run
    check = "gx.chart_of_accounts.expect_column_values_to_be_in_set(account_type)"
    finding = by_check(run.findings, "chart_of_accounts")[check]
    assert finding == Finding(
        check,
        Category.FORMATTING,
        "chart_of_accounts",
        Outcome.PASSED,
        "0 of 4 rows unexpected (0.00%)",
    )


def test_row_condition_scopes_message(passing_run: tuple[SuiteRun, Path, Path]) -> None:
    run, _, _ = passing_run
    check = "gx.chart_of_accounts.expect_column_values_to_be_null(cash_flow_category)"
    finding = by_check(run.findings, "chart_of_accounts")[check]
    condition = "account_type IN (REVENUE, COST_OF_SALES, EXPENSE, OTHER_INCOME, OTHER_EXPENSE)"
    assert finding.message == f"0 of 1 rows where {condition} unexpected (0.00%)"
    assert finding.category == Category.ACCURACY


def test_data_docs_index_names_suites(passing_run: tuple[SuiteRun, Path, Path]) -> None:
    run, _, _ = passing_run
    html = run.docs_index.read_text("utf-8")
    assert run.docs_index.name == "index.html"
    assert "reach_dq.chart_of_accounts" in html
    assert "reach_dq.profit_and_loss" in html


def test_data_docs_validation_page_names_suite(passing_run: tuple[SuiteRun, Path, Path]) -> None:
    run, _, _ = passing_run
    html = run.docs_index.read_text("utf-8")
    links = re.findall(r"validations/reach_dq/chart_of_accounts/nightly-1/[^'\"]+\.html", html)
    assert links != []
    page = (run.docs_index.parent / links[0]).read_text("utf-8")
    assert "reach_dq.chart_of_accounts" in page
    assert "account_type" in page


def test_data_docs_suite_page_shows_notes(passing_run: tuple[SuiteRun, Path, Path]) -> None:
    run, _, _ = passing_run
    page = run.docs_index.parent / "expectations" / "reach_dq" / "budgets.html"
    html = page.read_text("utf-8")
    assert "BudgetId is unique within a company" in html


def test_run_writes_nothing_outside_docs(passing_run: tuple[SuiteRun, Path, Path]) -> None:
    _, workdir, home = passing_run
    assert sorted(path.name for path in workdir.iterdir()) == []
    assert sorted(path.name for path in home.iterdir()) == []


def test_invalid_type_and_duplicate_id_fail(tmp_path: Path) -> None:
    rows = [dict(row) for row in VALID_ROWS["chart_of_accounts"]]
    rows[1]["account_type"] = "INCOME"  # C1, account 3000
    rows[2]["account_id"] = "1000"  # C1 now has account 1000 twice
    frames = {"chart_of_accounts": make_frame("chart_of_accounts", rows)}

    run = run_suites(frames, docs_dir=tmp_path / "docs", run_name="bad-chart")

    findings = by_check(run.findings, "chart_of_accounts")
    failed = {check for check, finding in findings.items() if finding.outcome == Outcome.FAILED}
    invalid_type = "gx.chart_of_accounts.expect_column_values_to_be_in_set(account_type)"
    duplicate = "gx.chart_of_accounts.expect_compound_columns_to_be_unique(company_id, account_id)"
    assert failed == {invalid_type, duplicate}
    assert findings[invalid_type] == Finding(
        invalid_type,
        Category.FORMATTING,
        "chart_of_accounts",
        Outcome.FAILED,
        "1 of 4 rows unexpected (25.00%)",
        failure_count=1,
        failure_cases=(
            FailureCase(company_id="C1", account_id="3000", field="account_type", actual="INCOME"),
        ),
    )
    assert findings[duplicate] == Finding(
        duplicate,
        Category.ACCURACY,
        "chart_of_accounts",
        Outcome.FAILED,
        "2 of 4 rows unexpected (50.00%)",
        failure_count=2,
        failure_cases=(
            FailureCase(company_id="C1", account_id="1000", field="account_id", actual="1000"),
            FailureCase(company_id="C1", account_id="1000", field="account_id", actual="1000"),
        ),
    )


def test_category_on_revenue_account_fails(tmp_path: Path) -> None:
    rows = [dict(row) for row in VALID_ROWS["chart_of_accounts"]]
    rows[2]["cash_flow_category"] = "OPERATING"  # C1, account 4000, REVENUE
    frames = {"chart_of_accounts": make_frame("chart_of_accounts", rows)}

    run = run_suites(frames, docs_dir=tmp_path / "docs", run_name="r1")

    check = "gx.chart_of_accounts.expect_column_values_to_be_null(cash_flow_category)"
    finding = by_check(run.findings, "chart_of_accounts")[check]
    assert finding.outcome == Outcome.FAILED
    assert finding.failure_cases == (
        FailureCase(
            company_id="C1", account_id="4000", field="cash_flow_category", actual="OPERATING"
        ),
    )


def test_same_id_in_two_companies_passes(tmp_path: Path) -> None:
    frames = {"chart_of_accounts": make_frame("chart_of_accounts", VALID_ROWS["chart_of_accounts"])}

    run = run_suites(frames, docs_dir=tmp_path / "docs", run_name="r1")

    duplicate = "gx.chart_of_accounts.expect_compound_columns_to_be_unique(company_id, account_id)"
    assert by_check(run.findings, "chart_of_accounts")[duplicate].outcome == Outcome.PASSED


def test_statement_duplicate_with_null_context_fails(tmp_path: Path) -> None:
    rows = [*STATEMENT_ROWS, dict(STATEMENT_ROWS[0], amount=D("1200.50"))]
    frames = {"profit_and_loss": make_frame("profit_and_loss", rows)}

    run = run_suites(frames, docs_dir=tmp_path / "docs", run_name="r1")

    check = (
        "gx.profit_and_loss.expect_compound_columns_to_be_unique"
        "(company_id, basis, budget_id, class_id, department_id, account_id, date)"
    )
    finding = by_check(run.findings, "profit_and_loss")[check]
    case = FailureCase(
        company_id="C1",
        account_id="4000",
        date="2024-01-31",
        basis="ACCRUAL",
        field="basis, budget_id, class_id, department_id, account_id, date",
        actual="ACCRUAL, null, null, null, 4000, 2024-01-31",
    )
    assert finding.outcome == Outcome.FAILED
    assert finding.failure_count == 2
    assert finding.failure_cases == (case, case)


def test_empty_frame_is_not_evaluated(tmp_path: Path) -> None:
    frames = {"company": make_frame("company", [])}

    run = run_suites(frames, docs_dir=tmp_path / "docs", run_name="r1")

    [finding] = [finding for finding in run.findings if finding.dataset == "company"]
    assert finding.check == "gx.company.suite"
    assert finding.outcome == Outcome.NOT_EVALUATED
    assert finding.message == "0 rows: nothing to check, so none of the suite's 6 expectations ran"


def test_missing_frame_is_not_evaluated(tmp_path: Path) -> None:

    run = run_suites({}, docs_dir=tmp_path / "docs", run_name="r1")

    budgets = [finding for finding in run.findings if finding.dataset == "budgets"]
    assert len(budgets) == 7
    assert {finding.outcome for finding in budgets} == {Outcome.NOT_EVALUATED}
    assert {finding.message for finding in budgets} == {"no frame for dataset 'budgets'"}
    assert run.docs_index == tmp_path / "docs" / "index.html"
    assert run.docs_index.is_file()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["docs"]


def test_budget_ending_before_start_fails(tmp_path: Path) -> None:
    rows = [dict(row) for row in VALID_ROWS["budgets"]]
    rows[1]["end_date"] = dt.date(2024, 5, 31)
    rows[0]["end_date"] = None
    frames = {"budgets": make_frame("budgets", rows)}

    run = run_suites(frames, docs_dir=tmp_path / "docs", run_name="r1")

    findings = by_check(run.findings, "budgets")
    order = findings[
        "gx.budgets.expect_column_pair_values_a_to_be_greater_than_b(end_date, start_date)"
    ]
    assert order.outcome == Outcome.FAILED
    assert order.failure_cases == (
        FailureCase(company_id="C1", field="end_date, start_date", actual="2024-05-31, 2024-06-01"),
    )
    assert findings["gx.budgets.expect_column_values_to_not_be_null(end_date)"].failure_cases == (
        FailureCase(company_id="C1", field="end_date", actual="null"),
    )


def test_fiscal_month_and_currency_fail(tmp_path: Path) -> None:
    rows = [dict(row) for row in VALID_ROWS["company"]]
    rows[0]["fiscal_month_end"] = 13
    rows[1]["currency"] = "usd"
    frames = {"company": make_frame("company", rows)}

    run = run_suites(frames, docs_dir=tmp_path / "docs", run_name="r1")

    findings = by_check(run.findings, "company")
    month = findings["gx.company.expect_column_values_to_be_between(fiscal_month_end)"]
    currency = findings["gx.company.expect_column_values_to_match_regex(currency)"]
    assert month.failure_cases == (
        FailureCase(company_id="C1", field="fiscal_month_end", actual="13"),
    )
    assert currency.failure_cases == (FailureCase(company_id="C2", field="currency", actual="usd"),)


def test_null_boolean_fails_not_null(tmp_path: Path) -> None:
    rows = [dict(row) for row in VALID_ROWS["classes"]]
    rows[1]["is_active"] = None
    frames = {"classes": make_frame("classes", rows)}

    run = run_suites(frames, docs_dir=tmp_path / "docs", run_name="r1")

    check = "gx.classes.expect_column_values_to_not_be_null(is_active)"
    finding = by_check(run.findings, "classes")[check]
    assert finding.outcome == Outcome.FAILED
    case = FailureCase(company_id="C1", field="is_active", actual="null")
    assert finding.failure_cases == (case,)


def test_all_null_optional_column_passes(tmp_path: Path) -> None:
    rows = [dict(row, unit=None) for row in VALID_ROWS["non_financial_metrics"]]
    frames = {"non_financial_metrics": make_frame("non_financial_metrics", rows)}

    run = run_suites(frames, docs_dir=tmp_path / "docs", run_name="r1")

    unit = by_check(run.findings, "non_financial_metrics")[
        "gx.non_financial_metrics.expect_column_values_to_be_in_set(unit)"
    ]
    assert unit.outcome == Outcome.PASSED
    assert unit.message == "0 of 3 rows unexpected (0.00%)"


def test_warning_severity_reports_warning(tmp_path: Path) -> None:
    rows = [dict(row) for row in VALID_ROWS["non_financial_metrics"]]
    rows[2]["unit"] = "HOURS"
    frames = {"non_financial_metrics": make_frame("non_financial_metrics", rows)}

    run = run_suites(frames, docs_dir=tmp_path / "docs", run_name="r1")

    unit = by_check(run.findings, "non_financial_metrics")[
        "gx.non_financial_metrics.expect_column_values_to_be_in_set(unit)"
    ]
    assert unit.outcome == Outcome.WARNING
    assert unit.message == "1 of 3 rows unexpected (33.33%)"
    assert unit.failure_cases == (FailureCase(company_id="C1", field="unit", actual="HOURS"),)


def test_decimal_bounds_are_exact(tmp_path: Path) -> None:
    suites = tmp_path / "suites"
    write_suite(
        suites,
        "profit_and_loss",
        [expectation("expect_column_values_to_be_between", column="amount", max_value=100)],
    )
    rows = [
        {"account_id": "4000", "date": JAN, "amount": D("100.00")},
        {"account_id": "4000", "date": FEB, "amount": D("100.01")},
    ]
    frames = {"profit_and_loss": make_frame("profit_and_loss", rows)}

    run = run_suites(frames, docs_dir=tmp_path / "docs", run_name="r1", suites_dir=suites)

    (finding,) = run.findings
    assert finding.check == "gx.profit_and_loss.expect_column_values_to_be_between(amount)"
    assert finding.failure_cases == (
        FailureCase(
            company_id="C1", account_id="4000", date="2024-02-29", field="amount", actual="100.01"
        ),
    )


def test_table_expectation_reports_observed_value(tmp_path: Path) -> None:
    suites = tmp_path / "suites"
    write_suite(
        suites,
        "classes",
        [expectation("expect_table_row_count_to_be_between", "reliability", min_value=5)],
    )
    frames = {"classes": make_frame("classes", VALID_ROWS["classes"])}

    run = run_suites(frames, docs_dir=tmp_path / "docs", run_name="r1", suites_dir=suites)

    assert run.findings == [
        Finding(
            "gx.classes.expect_table_row_count_to_be_between",
            Category.RELIABILITY,
            "classes",
            Outcome.FAILED,
            "observed value 2",
            failure_count=1,
            failure_cases=(FailureCase(actual="2"),),
        )
    ]


def test_missing_column_is_not_evaluated(tmp_path: Path) -> None:
    suites = tmp_path / "suites"
    write_suite(
        suites,
        "classes",
        [
            expectation("expect_column_values_to_not_be_null", column="colour"),
            expectation("expect_column_values_to_not_be_null", column="class_id"),
        ],
    )
    frames = {"classes": make_frame("classes", VALID_ROWS["classes"])}

    run = run_suites(frames, docs_dir=tmp_path / "docs", run_name="r1", suites_dir=suites)

    missing, present = run.findings
    assert missing.outcome == Outcome.NOT_EVALUATED
    assert missing.message == (
        'expectation could not run: Error: The column "colour" in BatchData does not exist.'
    )
    assert present.outcome == Outcome.PASSED


def test_suite_gx_cannot_store_is_not_evaluated(tmp_path: Path) -> None:
    suites = tmp_path / "suites"
    quantiles = {"quantiles": [0.5], "value_ranges": [[0, 100]]}
    quantile = expectation(
        "expect_column_quantile_values_to_be_between", column="value", quantile_ranges=quantiles
    )
    write_suite(suites, "non_financial_values", [quantile])
    not_null = expectation("expect_column_values_to_not_be_null", column="class_id")
    write_suite(suites, "classes", [not_null])

    run = run_suites(valid_frames(), docs_dir=tmp_path / "docs", run_name="r1", suites_dir=suites)

    classes, values = sorted(run.findings, key=lambda finding: finding.dataset)
    # GX 1.24.1 raises while storing the result of this expectation as JSON.
    assert values.outcome == Outcome.NOT_EVALUATED
    assert values.message == (
        "GX could not validate the suite: TypeError: Object of type bool is not JSON serializable"
    )
    assert classes.outcome == Outcome.PASSED


def test_invalid_json_suite_is_not_evaluated(tmp_path: Path) -> None:
    suites = tmp_path / "suites"
    not_null = expectation("expect_column_values_to_not_be_null", column="class_id")
    write_suite(suites, "classes", [not_null])
    broken = suites / "company.json"
    broken.write_text('{"name": "reach_dq.company", "expectations": [', encoding="utf-8")
    frames = valid_frames()

    run = run_suites(frames, docs_dir=tmp_path / "docs", run_name="r1", suites_dir=suites)

    company, classes = (
        next(finding for finding in run.findings if finding.dataset == dataset)
        for dataset in ("company", "classes")
    )
    assert len(run.findings) == 2
    assert company == Finding(
        "gx.company.suite",
        Category.FORMATTING,
        "company",
        Outcome.NOT_EVALUATED,
        f"suite file {str(broken)!r} is not valid JSON: "
        "Expecting value: line 1 column 47 (char 46)",
    )
    assert classes.outcome == Outcome.PASSED


def test_unknown_expectation_type_is_not_evaluated(tmp_path: Path) -> None:
    suites = tmp_path / "suites"
    path = write_suite(
        suites,
        "classes",
        [
            expectation("expect_column_values_to_not_be_null", column="class_id"),
            expectation("expect_column_values_to_be_purple", column="class_id"),
        ],
    )

    run = run_suites(valid_frames(), docs_dir=tmp_path / "docs", run_name="r1", suites_dir=suites)

    assert run.findings == [
        Finding(
            "gx.classes.suite",
            Category.FORMATTING,
            "classes",
            Outcome.NOT_EVALUATED,
            f"suite file {str(path)!r}, expectation 1 ('expect_column_values_to_be_purple') "
            "is invalid: expect_column_values_to_be_purple not found",
        )
    ]


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        (
            {"name": "reach_dq.classes", "expectations": []},
            "'expectations' must be a non-empty list, got []",
        ),
        (
            {"name": "company", "expectations": [{"type": "x", "kwargs": {}}]},
            "name must be 'reach_dq.classes', got 'company'",
        ),
    ],
    ids=["empty", "wrong-name"],
)
def test_invalid_suite_shape_is_not_evaluated(
    tmp_path: Path, document: dict[str, Any], problem: str
) -> None:
    suites = tmp_path / "suites"
    suites.mkdir()
    path = suites / "classes.json"
    path.write_text(json.dumps(document), encoding="utf-8")

    run = run_suites(valid_frames(), docs_dir=tmp_path / "docs", run_name="r1", suites_dir=suites)

    (finding,) = run.findings
    assert finding.outcome == Outcome.NOT_EVALUATED
    assert finding.message == f"suite file {str(path)!r}: {problem}"


def test_invalid_kwargs_are_not_evaluated(tmp_path: Path) -> None:
    suites = tmp_path / "suites"
    in_set = expectation("expect_column_values_to_be_in_set", column="class_id")
    path = write_suite(suites, "classes", [in_set])

    run = run_suites(valid_frames(), docs_dir=tmp_path / "docs", run_name="r1", suites_dir=suites)

    (finding,) = run.findings
    assert finding.check == "gx.classes.suite"
    assert finding.message.startswith(
        f"suite file {str(path)!r}, expectation 0 ('expect_column_values_to_be_in_set') "
        "is invalid: "
    )
    assert "value_set" in finding.message


def test_unknown_category_is_not_evaluated(tmp_path: Path) -> None:
    suites = tmp_path / "suites"
    not_null = expectation("expect_column_values_to_not_be_null", "style", column="class_id")
    path = write_suite(suites, "classes", [not_null])

    run = run_suites(valid_frames(), docs_dir=tmp_path / "docs", run_name="r1", suites_dir=suites)

    (finding,) = run.findings
    assert finding.message == (
        f"suite file {str(path)!r}, expectation 0: meta.category must be one of formatting, "
        "accuracy, freshness, reliability, security, drift, got 'style'"
    )


def test_missing_category_defaults_to_formatting(tmp_path: Path) -> None:
    suites = tmp_path / "suites"
    item = {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "class_id"}}
    write_suite(suites, "classes", [item])

    run = run_suites(valid_frames(), docs_dir=tmp_path / "docs", run_name="r1", suites_dir=suites)

    (finding,) = run.findings
    assert finding.category == Category.FORMATTING
    assert finding.outcome == Outcome.PASSED


@pytest.mark.parametrize("run_name", ["../escape", "a/b", "", ".hidden"])
def test_unsafe_run_name_is_rejected(tmp_path: Path, run_name: str) -> None:
    with pytest.raises(ConfigError) as caught:
        run_suites({}, docs_dir=tmp_path / "docs", run_name=run_name)
    assert str(caught.value) == (
        "run name must be letters, digits, '.', '_' or '-' and start with a letter or digit, "
        f"got {run_name!r}"
    )


def test_missing_suites_folder_is_rejected(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    with pytest.raises(ConfigError) as caught:
        run_suites({}, docs_dir=tmp_path / "docs", run_name="r1", suites_dir=missing)
    assert str(caught.value) == f"expectation suites folder {str(missing)!r} does not exist"


def test_default_suites_dir_is_repository_folder() -> None:
    assert default_suites_dir() == Path(__file__).resolve().parents[2] / "expectations"


def test_module_import_leaves_gx_unloaded() -> None:
    code = "import sys, reach_dq.gx_suites; print('great_expectations' in sys.modules)"
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert output.stdout.strip() == "False"
