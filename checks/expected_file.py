"""Read the partner's own figures (``--expected FILE``): an export of its accounting system.

Two formats, chosen by the file name's suffix:

- ``.csv``: a header row, then one figure per row, UTF-8 (a byte order mark is allowed);
- ``.json``: an array of objects with the same keys.

Keys (column names): ``account``, ``date``, ``basis``, ``amount`` are required;
``company_id`` and ``statement`` are optional. ``account`` is an AccountId, or else an
AccountNumber of the chart of accounts. ``date`` is a month end written ``YYYY-MM-DD``.
``basis`` is ``ACCRUAL`` or ``CASH`` (any case). ``amount`` is a decimal number (a JSON number
or string), signed as the Reach API shows it. ``statement`` is ``profit_and_loss``,
``balance_sheet`` or ``cash_flow``. Without it, a profit-and-loss account is compared with the
Profit and Loss and a balance-sheet account with the Balance Sheet.

Every problem raises ``ConfigError`` naming the file, the line (CSV) or item (JSON) and the
value, so a bad file stops the run before anything is fetched.
"""

from __future__ import annotations

import calendar
import csv
import dataclasses
import datetime as dt
import decimal
import io
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from reach_dq.datasets import BASES
from reach_dq.exceptions import ConfigError

REQUIRED_KEYS = ("account", "date", "basis", "amount")
OPTIONAL_KEYS = ("company_id", "statement")
STATEMENT_NAMES = ("profit_and_loss", "balance_sheet", "cash_flow")
MAX_FIGURES = 1_000_000
MAX_DIGITS = 28  # integer digits DECIMAL(38, 10) can store


@dataclasses.dataclass(frozen=True)
class ExpectedFigure:
    """One figure of the partner's export, where ``line`` locates it in the file."""

    line: int  # CSV line number, or 1-based item number in a JSON array
    company_id: str | None
    account: str
    date: dt.date
    basis: str
    amount: decimal.Decimal
    statement: str | None = None


def read_expected_file(path: Path) -> list[ExpectedFigure]:
    """Read and check every figure of ``path``; raise ConfigError on the first problem."""
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".json"):
        raise ConfigError(f"--expected {str(path)!r}: the file name must end in .csv or .json")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"--expected {str(path)!r} cannot be read: {exc}") from exc

    items = _csv_items(path, text) if suffix == ".csv" else _json_items(path, text)
    figures: list[ExpectedFigure] = []
    seen: dict[tuple[Any, ...], int] = {}
    for line, item in items:
        figure = _figure(path, line, item)
        key = (figure.company_id, figure.account, figure.date, figure.basis, figure.statement)
        if key in seen:
            raise ConfigError(
                f"--expected {str(path)!r} line {line}: repeats the figure of line {seen[key]} "
                f"(account {figure.account!r}, {figure.date.isoformat()}, {figure.basis})"
            )
        seen[key] = line
        figures.append(figure)
        if len(figures) > MAX_FIGURES:
            raise ConfigError(f"--expected {str(path)!r} has more than {MAX_FIGURES} figures")
    if not figures:
        raise ConfigError(f"--expected {str(path)!r} contains no figures")
    return figures


def _csv_items(path: Path, text: str) -> Iterator[tuple[int, Mapping[str, Any]]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    _check_keys(path, "the header row", reader.fieldnames or [])
    for item in reader:
        if None in item:
            raise ConfigError(
                f"--expected {str(path)!r} line {reader.line_num}: more values than columns"
            )
        yield reader.line_num, item


def _json_items(path: Path, text: str) -> Iterator[tuple[int, Mapping[str, Any]]]:
    try:
        document = json.loads(text, parse_float=decimal.Decimal)
    except (ValueError, RecursionError) as exc:
        raise ConfigError(f"--expected {str(path)!r} is not valid JSON: {exc}") from exc
    if not isinstance(document, list):
        raise ConfigError(
            f"--expected {str(path)!r} must hold a JSON array of objects, "
            f"got {type(document).__name__}"
        )
    for number, item in enumerate(document, 1):
        if not isinstance(item, dict):
            raise ConfigError(
                f"--expected {str(path)!r} item {number}: expected an object, "
                f"got {type(item).__name__}"
            )
        _check_keys(path, f"item {number}", list(item))
        yield number, item


def _check_keys(path: Path, where: str, keys: list[str]) -> None:
    missing = [key for key in REQUIRED_KEYS if key not in keys]
    unknown = [key for key in keys if key not in REQUIRED_KEYS + OPTIONAL_KEYS]
    if missing or unknown:
        problems = []
        if missing:
            problems.append(f"lacks {', '.join(missing)}")
        if unknown:
            problems.append(f"has unknown keys {', '.join(repr(key) for key in unknown)}")
        raise ConfigError(
            f"--expected {str(path)!r}: {where} {' and '.join(problems)}; expected "
            f"{', '.join(REQUIRED_KEYS)} and optionally {', '.join(OPTIONAL_KEYS)}"
        )


def _figure(path: Path, line: int, item: Mapping[str, Any]) -> ExpectedFigure:
    where = f"--expected {str(path)!r} line {line}" if path.suffix.lower() == ".csv" else (
        f"--expected {str(path)!r} item {line}"
    )
    return ExpectedFigure(
        line=line,
        company_id=_optional_text(where, "company_id", item.get("company_id")),
        account=_text(where, "account", item["account"]),
        date=_month_end(where, item["date"]),
        basis=_basis(where, item["basis"]),
        amount=_amount(where, item["amount"]),
        statement=_statement(where, item.get("statement")),
    )


def _text(where: str, key: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}: {key} must be a non-empty string, got {value!r}")
    return value.strip()


def _optional_text(where: str, key: str, value: Any) -> str | None:
    if value is None or value == "":
        return None
    return _text(where, key, value)


def _month_end(where: str, value: Any) -> dt.date:
    try:
        day = dt.date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        day = None
    if day is None or len(value) != 10:
        raise ConfigError(f"{where}: date must be written YYYY-MM-DD, got {value!r}")
    if day.day != calendar.monthrange(day.year, day.month)[1]:
        raise ConfigError(
            f"{where}: date must be the last day of its month, as the Reach API dates a "
            f"month's figures, got {value!r}"
        )
    return day


def _basis(where: str, value: Any) -> str:
    basis = value.strip().upper() if isinstance(value, str) else None
    if basis not in BASES:
        raise ConfigError(f"{where}: basis must be ACCRUAL or CASH, got {value!r}")
    return basis


def _amount(where: str, value: Any) -> decimal.Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, str, decimal.Decimal)):
        raise ConfigError(f"{where}: amount must be a decimal number, got {value!r}")
    try:
        amount = decimal.Decimal(value.strip() if isinstance(value, str) else value)
    except decimal.InvalidOperation:
        raise ConfigError(f"{where}: amount must be a decimal number, got {value!r}") from None
    too_long = amount.is_finite() and (
        amount.adjusted() >= MAX_DIGITS or int(amount.as_tuple().exponent) < -10
    )
    if not amount.is_finite() or too_long:
        raise ConfigError(
            f"{where}: amount must be finite, below 10**{MAX_DIGITS} and have at most 10 "
            f"decimal places, got {value!r}"
        )
    return amount


def _statement(where: str, value: Any) -> str | None:
    if value is None or value == "":
        return None
    if value not in STATEMENT_NAMES:
        raise ConfigError(
            f"{where}: statement must be one of {', '.join(STATEMENT_NAMES)}, got {value!r}"
        )
    return str(value)
