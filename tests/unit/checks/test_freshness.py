from __future__ import annotations

import datetime as dt
from decimal import Decimal

import duckdb
import pytest

from checks.freshness import freshness_checks, last_closed_month
from reach_dq.exceptions import CheckRunError
from reach_dq.findings import FailureCase, Finding, Outcome
from reach_dq.runner import run_checks
from tests.unit.checks.conftest import SNAPSHOT_ID, Books, build_books, month_end
from tests.unit.checks.snapshot_rows import (
    context_for,
    insert_company_books,
    insert_snapshot,
    rows_of,
)

FIRST, LAST = month_end(2024, 6), month_end(2024, 8)
JULY = month_end(2024, 7)
AS_OF = dt.date(2024, 9, 10)
STARTED = dt.datetime(2024, 9, 10, 2, 0, tzinfo=dt.UTC)


def company_books() -> Books:
    return build_books("C001", fiscal_month_end=12, first_month=FIRST, last_month=LAST)


Key = tuple[str, str | None, str]  # check, company, dataset


def run(connection: duckdb.DuckDBPyConnection, **options: object) -> dict[Key, Finding]:
    values = {"as_of": AS_OF, "now": STARTED + dt.timedelta(minutes=5), **options}
    findings = run_checks(freshness_checks(), context_for(connection, FIRST, LAST, **values))
    return {(f.check, f.company_id, f.dataset): f for f in findings}


def snapshot(
    connection: duckdb.DuckDBPyConnection,
    books: Books,
    snapshot_id: str,
    as_of: dt.date,
    status: str = "complete",
) -> None:
    insert_snapshot(connection, snapshot_id=snapshot_id, as_of=as_of, first_month=FIRST,
                    last_month=LAST, status=status,
                    started_at=dt.datetime.combine(as_of, dt.time(2, 0), tzinfo=dt.UTC))
    insert_company_books(connection, books, last_month=LAST, snapshot_id=snapshot_id)


@pytest.mark.parametrize(
    ("as_of", "lag", "closed"),
    [
        (dt.date(2026, 7, 15), 0, dt.date(2026, 6, 30)),
        (dt.date(2026, 7, 15), 14, dt.date(2026, 6, 30)),
        (dt.date(2026, 7, 15), 15, dt.date(2026, 5, 31)),
        (dt.date(2026, 3, 1), 0, dt.date(2026, 2, 28)),
    ],
)
def test_last_closed_month_moves_with_lag(as_of: dt.date, lag: int, closed: dt.date) -> None:
    assert last_closed_month(as_of, lag) == closed


def test_negative_close_lag_raises() -> None:
    with pytest.raises(CheckRunError) as raised:
        last_closed_month(AS_OF, -1)
    assert str(raised.value) == "close_lag_days must be 0 or more, got -1"


def test_current_books_pass(warehouse: duckdb.DuckDBPyConnection) -> None:
    snapshot(warehouse, company_books(), SNAPSHOT_ID, AS_OF)

    findings = run(warehouse)

    closed = findings[("freshness.last_closed_month", "C001", "profit_and_loss")]
    assert closed.outcome is Outcome.PASSED
    assert closed.message == (
        "Profit and Loss of C001 has actuals for the last closed month (2 bases checked) "
        "(last closed month 2024-08-31; newest Profit and Loss actuals dated 2024-08-31, "
        "10 days before as-of 2024-09-10)"
    )
    age = findings[("freshness.snapshot_age", None, "user_info")]
    assert age.outcome is Outcome.PASSED
    assert age.message == (
        "snapshot snap-1 started 2024-09-10T02:00:00+00:00, 0.1 hours before the check at "
        "2024-09-10T02:05:00+00:00; its newest Profit and Loss actuals are dated 2024-08-31, "
        "10 days before as-of 2024-09-10"
    )


def test_missing_last_month_names_accounts(warehouse: duckdb.DuckDBPyConnection) -> None:
    books = company_books()
    books["profit_and_loss"] = [
        row for row in books["profit_and_loss"]
        if not (row["date"] == LAST and row["basis"] == "CASH")
    ]
    snapshot(warehouse, books, SNAPSHOT_ID, AS_OF)

    finding = run(warehouse)[("freshness.last_closed_month", "C001", "profit_and_loss")]

    assert finding.outcome is Outcome.FAILED
    assert [case.account_id for case in finding.failure_cases] == [
        "4000", "5000", "6000", "7000", "8000"
    ]
    assert finding.failure_cases[0] == FailureCase(
        company_id="C001", account_id="4000", date="2024-08-31", basis="CASH", field="Date",
        expected="a row dated 2024-08-31, as on 2024-07-31", actual="no row",
    )
    assert finding.message.startswith(
        "Profit and Loss of C001 has no actuals for the last closed month on some of 2 bases "
        "(missing rows: 5); first 4000 2024-08-31 CASH:"
    )


def test_close_lag_moves_last_closed_month(warehouse: duckdb.DuckDBPyConnection) -> None:
    books = company_books()
    books["profit_and_loss"] = [row for row in books["profit_and_loss"] if row["date"] != LAST]
    snapshot(warehouse, books, SNAPSHOT_ID, AS_OF)

    finding = run(warehouse, close_lag_days=10)[
        ("freshness.last_closed_month", "C001", "profit_and_loss")
    ]

    assert finding.outcome is Outcome.PASSED
    assert "(last closed month 2024-07-31 with a close lag of 10 days;" in finding.message


def test_old_snapshot_warns(warehouse: duckdb.DuckDBPyConnection) -> None:
    snapshot(warehouse, company_books(), SNAPSHOT_ID, AS_OF)

    finding = run(warehouse, now=STARTED + dt.timedelta(hours=30))[
        ("freshness.snapshot_age", None, "user_info")
    ]

    assert finding.outcome is Outcome.WARNING
    assert "30.0 hours before the check" in finding.message
    assert finding.message.endswith("; expected at most 24 hours")


def test_frozen_feed_not_evaluated_without_open_month(
    warehouse: duckdb.DuckDBPyConnection,
) -> None:
    snapshot(warehouse, company_books(), SNAPSHOT_ID, AS_OF)

    finding = run(warehouse)[("freshness.frozen_feed", None, "profit_and_loss")]

    assert finding.outcome is Outcome.NOT_EVALUATED
    assert finding.message == (
        "no open month: with a close lag of 0 days the last closed month 2024-08-31 is the last "
        "fetched month; set a close lag in days (--close-lag-days) to watch the month that is "
        "still being closed"
    )


def nightly_snapshots(
    connection: duckdb.DuckDBPyConnection, *, change_last_night: bool = False
) -> None:
    """Three nightly snapshots, 8 to 10 September, with August open under a 15-day lag."""
    for day, snapshot_id in ((8, "night-1"), (9, "night-2"), (10, SNAPSHOT_ID)):
        books = company_books()
        if change_last_night and snapshot_id == SNAPSHOT_ID:
            rows_of(books, "profit_and_loss", account_id="6000", date=LAST)[0]["amount"] += 1
        snapshot(connection, books, snapshot_id, dt.date(2024, 9, day))


def test_unchanged_open_month_is_frozen(warehouse: duckdb.DuckDBPyConnection) -> None:
    nightly_snapshots(warehouse)

    findings = run(warehouse, close_lag_days=15)
    finding = findings[("freshness.frozen_feed", "C001", "profit_and_loss")]

    assert finding.outcome is Outcome.WARNING
    assert finding.failure_cases == (
        FailureCase(company_id="C001", date="2024-08-31", field="open-month actuals",
                    expected="a change within 3 nightly snapshots",
                    actual="unchanged since the snapshot of as-of 2024-09-08 (30 rows)"),
    )


def test_changing_open_month_passes(warehouse: duckdb.DuckDBPyConnection) -> None:
    nightly_snapshots(warehouse, change_last_night=True)

    findings = run(warehouse, close_lag_days=15)
    finding = findings[("freshness.frozen_feed", "C001", "profit_and_loss")]

    assert finding.outcome is Outcome.PASSED


def test_frozen_feed_needs_earlier_nights(warehouse: duckdb.DuckDBPyConnection) -> None:
    nightly_snapshots(warehouse)

    finding = run(warehouse, close_lag_days=15, frozen_feed_runs=4)[
        ("freshness.frozen_feed", None, "profit_and_loss")
    ]

    assert finding.outcome is Outcome.NOT_EVALUATED
    assert finding.message == (
        "a frozen feed needs 3 earlier complete snapshots of this partner on earlier as-of "
        "dates, found 2"
    )


def test_restated_closed_month_warns(warehouse: duckdb.DuckDBPyConnection) -> None:
    snapshot(warehouse, company_books(), "baseline", dt.date(2024, 9, 9))
    books = company_books()
    [row] = rows_of(books, "profit_and_loss", account_id="6000", date=JULY, basis="ACCRUAL")
    original = row["amount"]
    row["amount"] += Decimal("100.00")
    snapshot(warehouse, books, SNAPSHOT_ID, AS_OF)

    findings = run(warehouse)

    restated = findings[("freshness.restatements", "C001", "profit_and_loss")]
    assert restated.outcome is Outcome.WARNING
    assert restated.failure_cases == (
        FailureCase(company_id="C001", account_id="6000", date="2024-07-31", basis="ACCRUAL",
                    field="Amount", expected=f"{original:.2f}",
                    actual=f"{original + 100:.2f}", delta="100.00"),
    )
    assert restated.message.endswith("(compared with snapshot baseline of as-of 2024-09-09)")
    assert findings[("freshness.restatements", "C001", "balance_sheet")].outcome is Outcome.PASSED


def test_open_month_change_is_no_restatement(warehouse: duckdb.DuckDBPyConnection) -> None:
    snapshot(warehouse, company_books(), "baseline", dt.date(2024, 9, 9))
    books = company_books()
    rows_of(books, "profit_and_loss", account_id="6000", date=LAST, basis="ACCRUAL")[0][
        "amount"] += Decimal("100.00")
    snapshot(warehouse, books, SNAPSHOT_ID, AS_OF)

    # With a 15-day lag, August is still open on 9 and 10 September.
    findings = run(warehouse, close_lag_days=15)
    finding = findings[("freshness.restatements", "C001", "profit_and_loss")]

    assert finding.outcome is Outcome.PASSED


def test_incomplete_baseline_ignored(warehouse: duckdb.DuckDBPyConnection) -> None:
    snapshot(warehouse, company_books(), "crashed", dt.date(2024, 9, 9), status="incomplete")
    snapshot(warehouse, company_books(), SNAPSHOT_ID, AS_OF)

    finding = run(warehouse)[("freshness.restatements", None, "profit_and_loss")]

    assert finding.outcome is Outcome.NOT_EVALUATED
    assert finding.message == (
        "no earlier complete snapshot of this partner in the warehouse to compare closed months "
        "with"
    )

