from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from checks.expected_file import ExpectedFigure, read_expected_file
from reach_dq.exceptions import ConfigError

HEADER = "company_id,account,date,basis,amount,statement\n"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_figures_are_read(tmp_path: Path) -> None:
    path = write(tmp_path, "figures.csv",
                 HEADER + "C001,4000,2024-07-31,accrual,1234.50,\nC001,1100,2024-07-31,CASH,-0.005,"
                 "balance_sheet\n")

    figures = read_expected_file(path)

    assert figures == [
        ExpectedFigure(2, "C001", "4000", dt.date(2024, 7, 31), "ACCRUAL", Decimal("1234.50")),
        ExpectedFigure(3, "C001", "1100", dt.date(2024, 7, 31), "CASH", Decimal("-0.005"),
                       "balance_sheet"),
    ]


def test_csv_with_byte_order_mark_and_required_columns_only(tmp_path: Path) -> None:
    path = tmp_path / "figures.csv"
    path.write_bytes("\ufeffaccount,date,basis,amount\n4000,2024-02-29,CASH,7\n".encode())

    [figure] = read_expected_file(path)

    assert (figure.company_id, figure.amount, figure.statement) == (None, Decimal(7), None)


def test_json_figures_keep_exact_decimals(tmp_path: Path) -> None:
    path = write(tmp_path, "figures.json",
                 '[{"account": "4000", "date": "2024-07-31", "basis": "CASH", "amount": 0.1},'
                 ' {"account": "4010", "date": "2024-07-31", "basis": "CASH", "amount": "2.20"}]')

    figures = read_expected_file(path)

    assert [figure.amount for figure in figures] == [Decimal("0.1"), Decimal("2.20")]
    assert [figure.line for figure in figures] == [1, 2]


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("C001,4000,2024-07-30,CASH,1,",
         "line 2: date must be the last day of its month, as the Reach API dates a month's "
         "figures, got '2024-07-30'"),
        ("C001,4000,31/07/2024,CASH,1,",
         "line 2: date must be written YYYY-MM-DD, got '31/07/2024'"),
        ("C001,4000,2024-07-31,MIXED,1,", "line 2: basis must be ACCRUAL or CASH, got 'MIXED'"),
        ("C001,4000,2024-07-31,CASH,1.2.3,",
         "line 2: amount must be a decimal number, got '1.2.3'"),
        ("C001,4000,2024-07-31,CASH,NaN,",
         "line 2: amount must be finite, below 10**28 and have at most 10 decimal places, "
         "got 'NaN'"),
        ("C001,,2024-07-31,CASH,1,", "line 2: account must be a non-empty string, got ''"),
        ("C001,4000,2024-07-31,CASH,1,income",
         "line 2: statement must be one of profit_and_loss, balance_sheet, cash_flow, got "
         "'income'"),
        ("C001,4000,2024-07-31,CASH,1,,extra", "line 2: more values than columns"),
    ],
)
def test_invalid_csv_row_names_line_and_value(tmp_path: Path, row: str, message: str) -> None:
    path = write(tmp_path, "figures.csv", HEADER + row + "\n")

    with pytest.raises(ConfigError) as raised:
        read_expected_file(path)

    assert str(raised.value) == f"--expected {str(path)!r} {message}"


def test_missing_and_unknown_columns_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, "figures.csv", "account,date,ammount\n")

    with pytest.raises(ConfigError) as raised:
        read_expected_file(path)

    assert str(raised.value) == (
        f"--expected {str(path)!r}: the header row lacks basis, amount and has unknown keys "
        "'ammount'; expected account, date, basis, amount and optionally company_id, statement"
    )


def test_repeated_figure_rejected(tmp_path: Path) -> None:
    row = "C001,4000,2024-07-31,CASH,1,\n"
    path = write(tmp_path, "figures.csv", HEADER + row + row)

    with pytest.raises(ConfigError) as raised:
        read_expected_file(path)

    assert str(raised.value) == (
        f"--expected {str(path)!r} line 3: repeats the figure of line 2 "
        "(account '4000', 2024-07-31, CASH)"
    )


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("figures.txt", "", "the file name must end in .csv or .json"),
        ("figures.csv", HEADER, "contains no figures"),
        ("figures.json", '{"account": "4000"}', "must hold a JSON array of objects, got dict"),
        ("figures.json", "[1]", "item 1: expected an object, got int"),
        ("figures.json", '[{"account": "4000", "date": "2024-07-31", "basis": "CASH", '
                         '"amount": true}]', "item 1: amount must be a decimal number, got True"),
    ],
)
def test_invalid_file_rejected(tmp_path: Path, name: str, text: str, message: str) -> None:
    path = write(tmp_path, name, text)

    with pytest.raises(ConfigError) as raised:
        read_expected_file(path)

    assert message in str(raised.value)


def test_missing_file_rejected(tmp_path: Path) -> None:
    path = tmp_path / "absent.csv"

    with pytest.raises(ConfigError) as raised:
        read_expected_file(path)

    assert str(raised.value).startswith(f"--expected {str(path)!r} cannot be read: ")
