"""Load a general-ledger export into books: the Xero tables of a Fivetran connector.

The whole mapping is declared at the top of this module: the four files, the columns read
from each, and the Xero account types with their Reach account type and cash flow category.

The export carries no currency column. Its bank accounts and tax names are Canadian, so the
company's currency is CAD. It carries no cash-basis information either, so the accrual journal
lines are served for both bases. It has no classes, departments, budgets or non-financial
metrics.
"""

from __future__ import annotations

import csv
import datetime as dt
import logging
from collections import defaultdict
from decimal import Decimal, InvalidOperation
from pathlib import Path

from reach_dq.datasets import BASES
from reach_dq.exceptions import ConfigError
from reach_dq.partner.books import CENT, Account, Books, Company, JournalLine
from reach_dq.partner.months import end_of_month

log = logging.getLogger(__name__)

ORGANISATION_FILE = "xero_organization_data.csv"
ACCOUNTS_FILE = "xero_account_data.csv"
JOURNALS_FILE = "xero_journal_data.csv"
LINES_FILE = "xero_journal_line_data.csv"
COLUMNS = {
    ORGANISATION_FILE: ("organisation_id", "financial_year_end_month"),
    ACCOUNTS_FILE: ("account_id", "name", "code", "type"),
    JOURNALS_FILE: ("journal_id", "journal_date"),
    # net_amount excludes tax and is positive for a debit.
    LINES_FILE: ("journal_line_id", "journal_id", "account_id", "net_amount"),
}

# Xero account type -> (Reach AccountType, CashFlowCategory).
ACCOUNT_TYPES: dict[str, tuple[str, str | None]] = {
    "BANK": ("ASSET", "CASH"),
    "CURRENT": ("ASSET", "OPERATING"),
    "INVENTORY": ("ASSET", "OPERATING"),
    "PREPAYMENT": ("ASSET", "OPERATING"),
    "FIXED": ("ASSET", "INVESTING"),
    "NONCURRENT": ("ASSET", "INVESTING"),
    "CURRLIAB": ("LIABILITY", "OPERATING"),
    "LIABILITY": ("LIABILITY", "OPERATING"),
    "TERMLIAB": ("LIABILITY", "FINANCING"),
    "EQUITY": ("EQUITY", "FINANCING"),
    "REVENUE": ("REVENUE", None),
    "SALES": ("REVENUE", None),
    "OTHERINCOME": ("OTHER_INCOME", None),
    "DIRECTCOSTS": ("COST_OF_SALES", None),
    "EXPENSE": ("EXPENSE", None),
    "OVERHEADS": ("EXPENSE", None),
    "DEPRECIATN": ("EXPENSE", None),
}
# The equity account with this name (compared case-insensitively) receives the P&L of closed
# fiscal years, so it has no cash flow category. When the export has none, one is added.
RETAINED_EARNINGS_NAME = "Retained Earnings"
ADDED_RETAINED_EARNINGS = Account(
    "reach-dq-retained-earnings", None, RETAINED_EARNINGS_NAME, "EQUITY", None, True, None
)

COMPANY_NAME = "Xero demo organisation"
CURRENCY = "CAD"


def load_ledger(folder: Path, *, as_of: dt.date | None = None) -> Books:
    """Load the Xero export in ``folder``; raise ConfigError naming any missing or invalid part.

    With ``as_of`` after the last journal, the books run on to the month before ``as_of`` with
    no activity, so the balance sheet keeps serving the closing balances as a live system would.
    """
    if not folder.is_dir():
        raise ConfigError(f"ledger folder {str(folder)!r} does not exist or is not a directory")
    tables = {name: _read_table(folder, name) for name in COLUMNS}

    company = _company(tables[ORGANISATION_FILE])
    accounts = _accounts(tables[ACCOUNTS_FILE])
    retained_earnings = _retained_earnings(accounts)
    if retained_earnings not in accounts:
        accounts.append(retained_earnings)
    journal_dates = _journal_dates(tables[JOURNALS_FILE])
    lines = _lines(tables[LINES_FILE], journal_dates, {account.account_id for account in accounts})
    if not lines:
        raise ConfigError(f"ledger file {LINES_FILE!r} in {str(folder)!r} has no journal lines")

    log.info("loaded ledger %s: %d accounts, %d journal lines", folder, len(accounts), len(lines))
    return Books(
        company=company,
        accounts=tuple(sorted(accounts, key=lambda account: account.account_id)),
        classes=(),
        departments=(),
        budgets=(),
        metrics=(),
        lines={basis: lines for basis in BASES},
        budget_lines=(),
        metric_values=(),
        retained_earnings_id=retained_earnings.account_id,
        first_month=end_of_month(lines[0].date),
        last_month=max(end_of_month(lines[-1].date), _month_before(as_of)),
    )


def _month_before(as_of: dt.date | None) -> dt.date:
    """Return the last day of the month before ``as_of``, or the earliest date for None."""
    if as_of is None:
        return dt.date.min
    return as_of.replace(day=1) - dt.timedelta(days=1)


def _read_table(folder: Path, name: str) -> list[dict[str, str]]:
    path = folder / name
    if not path.is_file():
        raise ConfigError(f"ledger folder {str(folder)!r} lacks the file {name!r}")
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [column for column in COLUMNS[name] if column not in (reader.fieldnames or ())]
        if missing:
            raise ConfigError(f"ledger file {str(path)!r} lacks the columns {missing!r}")
        return list(reader)


def _company(rows: list[dict[str, str]]) -> Company:
    if len(rows) != 1:
        raise ConfigError(f"{ORGANISATION_FILE!r} must have exactly one row, got {len(rows)}")
    row = rows[0]
    month = row["financial_year_end_month"]
    if not month.isdigit() or not 1 <= int(month) <= 12:
        raise ConfigError(
            f"financial_year_end_month in {ORGANISATION_FILE!r} must be 1..12, got {month!r}"
        )
    return Company(row["organisation_id"], COMPANY_NAME, int(month), CURRENCY)


def _accounts(rows: list[dict[str, str]]) -> list[Account]:
    accounts = []
    for row in rows:
        xero_type = row["type"]
        if xero_type not in ACCOUNT_TYPES:
            raise ConfigError(
                f"account {row['name']!r} ({row['account_id']}) has the unknown Xero type "
                f"{xero_type!r}; expected one of {sorted(ACCOUNT_TYPES)}"
            )
        account_type, category = ACCOUNT_TYPES[xero_type]
        if account_type == "EQUITY" and _is_retained_earnings(row["name"]):
            category = None
        number = row["code"] or None
        accounts.append(
            Account(row["account_id"], number, row["name"], account_type, None, True, category)
        )
    return accounts


def _is_retained_earnings(name: str) -> bool:
    return name.strip().casefold() == RETAINED_EARNINGS_NAME.casefold()


def _retained_earnings(accounts: list[Account]) -> Account:
    # NOTE: journal lines posted to this account itself would break the cash flow identity,
    # because the account has no cash flow category. The Fivetran Xero export posts none.
    for account in accounts:
        if account.account_type == "EQUITY" and _is_retained_earnings(account.name):
            return account
    return ADDED_RETAINED_EARNINGS


def _journal_dates(rows: list[dict[str, str]]) -> dict[str, dt.date]:
    dates = {}
    for row in rows:
        try:
            dates[row["journal_id"]] = dt.date.fromisoformat(row["journal_date"])
        except ValueError as exc:
            raise ConfigError(
                f"journal {row['journal_id']!r} in {JOURNALS_FILE!r} has the invalid journal_date "
                f"{row['journal_date']!r}; expected YYYY-MM-DD"
            ) from exc
    return dates


def _lines(
    rows: list[dict[str, str]], journal_dates: dict[str, dt.date], account_ids: set[str]
) -> list[JournalLine]:
    lines = [_line(row, journal_dates, account_ids) for row in rows]
    _check_balanced(lines)
    return sorted(lines, key=lambda line: (line.date, line.journal_id))


def _line(
    row: dict[str, str], journal_dates: dict[str, dt.date], account_ids: set[str]
) -> JournalLine:
    line_id = row["journal_line_id"]
    for column, known in (("journal_id", journal_dates), ("account_id", account_ids)):
        if row[column] not in known:
            kind = column.removesuffix("_id")
            raise ConfigError(
                f"journal line {line_id!r} names the unknown {kind} {row[column]!r}"
            )
    try:
        amount = Decimal(row["net_amount"])
    except InvalidOperation as exc:
        raise ConfigError(
            f"journal line {line_id!r} has the invalid net_amount {row['net_amount']!r}"
        ) from exc
    if not amount.is_finite() or amount != amount.quantize(CENT):
        raise ConfigError(
            f"journal line {line_id!r} has net_amount {row['net_amount']!r}; "
            "expected a finite amount with at most two decimal places"
        )
    date = journal_dates[row["journal_id"]]
    return JournalLine(row["journal_id"], date, row["account_id"], amount.quantize(CENT))


def _check_balanced(lines: list[JournalLine]) -> None:
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for line in lines:
        totals[line.journal_id] += line.amount
    for journal_id, total in totals.items():
        if total != 0:
            raise ConfigError(f"journal {journal_id!r} does not balance: its lines sum to {total}")
