"""Generated books: deterministic demo companies built from monthly business events.

Each company gets 48 months of books ending with the month before ``as_of``. Every business
event (an invoice, a payment, a payroll run) becomes one balanced journal, posted separately on
the accrual basis and on the cash basis:

- Accrual: sales are invoiced to receivables and collected a month later. Cost of goods and
  supplies are bought on account and paid a month later. Insurance is prepaid each quarter and
  expensed monthly.
- Cash: revenue and those costs are recorded when the cash moves, so receivables, payables and
  prepaid insurance stay at zero.
- Both bases: the opening capital and loan, salaries and rent paid in cash, equipment purchases
  and their depreciation, loan interest and repayments, interest income on savings.

Every event that touches the P&L carries one class and one department on all of its lines, so
books filtered by a class or a department still balance. Only ``random.Random(seed + index)``
drives the amounts: the same seed and ``as_of`` give the same books.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

from reach_dq.datasets import BASES
from reach_dq.partner.books import (
    CENT,
    Account,
    Books,
    Budget,
    BudgetLine,
    Company,
    JournalLine,
    Metric,
    MetricValue,
    Segment,
)
from reach_dq.partner.months import add_months, fiscal_year_end, fiscal_year_start, month_ends

BOOK_MONTHS = 48
DEPRECIATION_MONTHS = 36
LOAN_TERM_MONTHS = 60

COMPANY_NAMES = (
    "Northwind Outdoor Supply",
    "Maple Ridge Analytics",
    "Blue Harbor Foods",
    "Alpine Learning Studio",
    "Copperfield Engineering",
)
FISCAL_MONTH_ENDS = (12, 6, 3, 9)
CURRENCIES = ("USD", "CAD", "EUR", "GBP")

CASH = "ACC1000"
SAVINGS = "ACC1010"
RECEIVABLES = "ACC1100"
PREPAID = "ACC1200"
EQUIPMENT = "ACC1500"
DEPRECIATION_RESERVE = "ACC1510"
PAYABLES = "ACC2000"
LOAN = "ACC2500"
CAPITAL = "ACC3000"
RETAINED_EARNINGS = "ACC3900"
SALES = "ACC4000"
PRODUCT_SALES = "ACC4010"
SERVICE_REVENUE = "ACC4020"
COST_OF_GOODS = "ACC5000"
SALARIES = "ACC6000"
RENT = "ACC6100"
SUPPLIES = "ACC6200"
INSURANCE = "ACC6300"
DEPRECIATION = "ACC6400"
INTEREST_INCOME = "ACC7000"
INTEREST_EXPENSE = "ACC8000"


def _account(
    account_id: str,
    name: str,
    account_type: str,
    category: str | None = None,
    *,
    parent_id: str | None = None,
    is_active: bool = True,
) -> Account:
    number = account_id.removeprefix("ACC")
    return Account(account_id, number, name, account_type, parent_id, is_active, category)


CHART = (
    _account(CASH, "Operating bank account", "ASSET", "CASH"),
    _account(SAVINGS, "Savings account", "ASSET", "CASH"),
    _account(RECEIVABLES, "Accounts receivable", "ASSET", "OPERATING"),
    _account(PREPAID, "Prepaid insurance", "ASSET", "OPERATING"),
    _account(EQUIPMENT, "Equipment", "ASSET", "INVESTING"),
    # Depreciation is a non-cash expense, so its reserve is added back among operating items.
    _account(
        DEPRECIATION_RESERVE,
        "Accumulated depreciation",
        "ASSET",
        "OPERATING",
        parent_id=EQUIPMENT,
    ),
    _account(PAYABLES, "Accounts payable", "LIABILITY", "OPERATING"),
    _account(LOAN, "Bank loan", "LIABILITY", "FINANCING"),
    _account(CAPITAL, "Share capital", "EQUITY", "FINANCING"),
    _account(RETAINED_EARNINGS, "Retained earnings", "EQUITY"),
    _account(SALES, "Sales", "REVENUE"),
    _account(PRODUCT_SALES, "Product sales", "REVENUE", parent_id=SALES),
    _account(SERVICE_REVENUE, "Service revenue", "REVENUE", parent_id=SALES),
    _account("ACC4900", "Discontinued product line", "REVENUE", is_active=False),
    _account(COST_OF_GOODS, "Cost of goods sold", "COST_OF_SALES"),
    _account(SALARIES, "Salaries and wages", "EXPENSE"),
    _account(RENT, "Rent", "EXPENSE"),
    _account(SUPPLIES, "Software and supplies", "EXPENSE"),
    _account(INSURANCE, "Insurance", "EXPENSE"),
    _account(DEPRECIATION, "Depreciation", "EXPENSE"),
    _account(INTEREST_INCOME, "Interest income", "OTHER_INCOME"),
    _account(INTEREST_EXPENSE, "Interest expense", "OTHER_EXPENSE"),
)

PRODUCTS, SERVICES, TRAINING = "CL01", "CL02", "CL03"
CLASSES = (
    Segment(PRODUCTS, "Products"),
    Segment(SERVICES, "Services"),
    Segment(TRAINING, "Training", parent_id=SERVICES),
)
SALES_TEAM, OPERATIONS, ADMINISTRATION = "DP01", "DP02", "DP03"
DEPARTMENTS = (
    Segment(SALES_TEAM, "Sales"),
    Segment(OPERATIONS, "Operations"),
    Segment(ADMINISTRATION, "Administration"),
)
HEADCOUNT, CUSTOMERS, RETENTION = "NF01", "NF02", "NF03"
METRICS = (
    Metric(HEADCOUNT, "Headcount", "COUNT"),
    Metric(CUSTOMERS, "Active customers", "COUNT"),
    Metric(RETENTION, "Customer retention rate", "PERCENT"),
)
OPERATING_BUDGET, FORECAST = "BG01", "BG02"


@dataclasses.dataclass(frozen=True)
class _Tag:
    class_id: str
    department_id: str


# Class and department tags of each kind of P&L event.
SALES_TAGS = {
    PRODUCTS: _Tag(PRODUCTS, SALES_TEAM),
    SERVICES: _Tag(SERVICES, SALES_TEAM),
    TRAINING: _Tag(TRAINING, SALES_TEAM),
}
SALES_ACCOUNTS = {PRODUCTS: PRODUCT_SALES, SERVICES: SERVICE_REVENUE, TRAINING: SERVICE_REVENUE}
PAYROLL_TAGS = {
    SALES_TEAM: _Tag(PRODUCTS, SALES_TEAM),
    OPERATIONS: _Tag(SERVICES, OPERATIONS),
    ADMINISTRATION: _Tag(TRAINING, ADMINISTRATION),
}
COST_OF_GOODS_TAG = _Tag(PRODUCTS, OPERATIONS)
SUPPLIES_TAG = _Tag(SERVICES, ADMINISTRATION)
RENT_TAG = _Tag(SERVICES, ADMINISTRATION)
INSURANCE_TAG = _Tag(PRODUCTS, ADMINISTRATION)
DEPRECIATION_TAG = _Tag(SERVICES, OPERATIONS)
INTEREST_EXPENSE_TAG = _Tag(PRODUCTS, ADMINISTRATION)
INTEREST_INCOME_TAG = _Tag(TRAINING, ADMINISTRATION)


@dataclasses.dataclass(frozen=True)
class _Profile:
    """The business of one company: monthly base amounts and rates drawn once from its rng."""

    sales: dict[str, Decimal]  # per class, in the first month of the books
    growth: float  # monthly growth factor of sales, costs and customers
    cost_ratio: float  # cost of goods as a share of product sales
    payroll: dict[str, Decimal]  # per department
    rent: Decimal
    supplies: Decimal
    insurance_premium: Decimal  # paid each quarter
    capital: Decimal
    loan: Decimal
    loan_rate: float  # yearly
    savings_rate: float  # yearly
    headcount: int
    customers: int


def _money(value: float) -> Decimal:
    return Decimal(value).quantize(CENT, ROUND_HALF_UP)


def _cents(rng: random.Random, low: int, high: int) -> Decimal:
    """Draw a uniform amount between two whole-currency bounds, to the cent."""
    return Decimal(rng.randint(low * 100, high * 100)).scaleb(-2)


def _draw_profile(rng: random.Random) -> _Profile:
    return _Profile(
        sales={
            PRODUCTS: _cents(rng, 45_000, 90_000),
            SERVICES: _cents(rng, 20_000, 45_000),
            TRAINING: _cents(rng, 5_000, 15_000),
        },
        growth=1 + rng.uniform(0.002, 0.012),
        cost_ratio=rng.uniform(0.38, 0.46),
        payroll={
            SALES_TEAM: _cents(rng, 18_000, 28_000),
            OPERATIONS: _cents(rng, 30_000, 45_000),
            ADMINISTRATION: _cents(rng, 10_000, 16_000),
        },
        rent=_cents(rng, 4_000, 8_000),
        supplies=_cents(rng, 1_500, 3_500),
        insurance_premium=_cents(rng, 2_400, 6_000),
        capital=Decimal(rng.randint(10, 30) * 10_000),
        loan=Decimal(rng.randint(6, 24) * 10_000),
        loan_rate=rng.uniform(0.04, 0.08),
        savings_rate=rng.uniform(0.01, 0.03),
        headcount=rng.randint(12, 40),
        customers=rng.randint(80, 400),
    )


class _Journals:
    """Collects balanced two-line journals per basis, numbering them in posting order."""

    def __init__(self) -> None:
        self.lines: dict[str, list[JournalLine]] = {basis: [] for basis in BASES}
        self._count = 0

    def post(
        self,
        bases: tuple[str, ...],
        date: dt.date,
        debit: str,
        credit: str,
        amount: Decimal,
        tag: _Tag | None = None,
    ) -> None:
        if amount == 0:
            return
        amount = amount.quantize(CENT)
        class_id = tag.class_id if tag else None
        department_id = tag.department_id if tag else None
        for basis in bases:
            self._count += 1
            journal_id = f"J{self._count:06d}"
            self.lines[basis].append(
                JournalLine(journal_id, date, debit, amount, class_id, department_id)
            )
            self.lines[basis].append(
                JournalLine(journal_id, date, credit, -amount, class_id, department_id)
            )


BOTH = ("ACCRUAL", "CASH")
ACCRUAL = ("ACCRUAL",)
CASH_ONLY = ("CASH",)


def _day(month: dt.date, day: int) -> dt.date:
    return month.replace(day=min(day, month.day))


class _Events:
    """Turns the business of one company into journals, month by month."""

    def __init__(self, rng: random.Random, profile: _Profile, months: list[dt.date]) -> None:
        self.rng = rng
        self.profile = profile
        self.months = months
        self.journals = _Journals()
        self.loan_balance = profile.loan
        self.savings_balance = Decimal(0)
        self.depreciation: dict[int, Decimal] = {}  # month index -> amount planned

    def run(self) -> dict[str, tuple[JournalLine, ...]]:
        self._open()
        for index, month in enumerate(self.months):
            self._month(index, month)
        return {basis: tuple(lines) for basis, lines in self.journals.lines.items()}

    def _open(self) -> None:
        first = self.months[0].replace(day=1)
        self.journals.post(BOTH, first, CASH, CAPITAL, self.profile.capital)
        self.journals.post(BOTH, first, CASH, LOAN, self.profile.loan)

    def _month(self, index: int, month: dt.date) -> None:
        product_sales = self._sales(index, month)
        self._cost_of_goods(index, month, product_sales)
        self._on_account(index, month, SUPPLIES, SUPPLIES_TAG, self._noisy(self.profile.supplies))
        self._payroll(index, month)
        self.journals.post(BOTH, _day(month, 1), RENT, CASH, self.profile.rent, RENT_TAG)
        self._insurance(index, month)
        self._equipment(index, month)
        self._loan(month)
        self._savings(index, month)

    def _noisy(self, amount: Decimal, spread: float = 0.08) -> Decimal:
        return _money(float(amount) * self.rng.uniform(1 - spread, 1 + spread))

    def _grown(self, amount: Decimal, index: int, month: dt.date) -> Decimal:
        """Apply the growth trend, a November-December peak and a January-February dip."""
        seasonal = 1 + 0.1 * (month.month in (11, 12)) - 0.05 * (month.month in (1, 2))
        return self._noisy(_money(float(amount) * self.profile.growth**index * seasonal))

    def _sales(self, index: int, month: dt.date) -> Decimal:
        """Invoice each class's sales; return the month's product sales."""
        product_sales = Decimal(0)
        for class_id, base in self.profile.sales.items():
            amount = self._grown(base, index, month)
            if class_id == PRODUCTS:
                product_sales = amount
            revenue = SALES_ACCOUNTS[class_id]
            tag = SALES_TAGS[class_id]
            self.journals.post(ACCRUAL, _day(month, 20), RECEIVABLES, revenue, amount, tag)
            if index + 1 < len(self.months):
                collected = _day(self.months[index + 1], 10)
                self.journals.post(ACCRUAL, collected, CASH, RECEIVABLES, amount, tag)
                self.journals.post(CASH_ONLY, collected, CASH, revenue, amount, tag)
        return product_sales

    def _cost_of_goods(self, index: int, month: dt.date, product_sales: Decimal) -> None:
        amount = self._noisy(_money(float(product_sales) * self.profile.cost_ratio), 0.03)
        self._on_account(index, month, COST_OF_GOODS, COST_OF_GOODS_TAG, amount)

    def _on_account(
        self, index: int, month: dt.date, expense: str, tag: _Tag, amount: Decimal
    ) -> None:
        """Book a purchase on account (accrual) that is paid on the 5th of the next month."""
        self.journals.post(ACCRUAL, _day(month, 25), expense, PAYABLES, amount, tag)
        if index + 1 < len(self.months):
            paid = _day(self.months[index + 1], 5)
            self.journals.post(ACCRUAL, paid, PAYABLES, CASH, amount, tag)
            self.journals.post(CASH_ONLY, paid, expense, CASH, amount, tag)

    def _payroll(self, index: int, month: dt.date) -> None:
        for department_id, base in self.profile.payroll.items():
            amount = _money(float(base) * (1 + 0.03 * (index // 12)))
            tag = PAYROLL_TAGS[department_id]
            self.journals.post(BOTH, month, SALARIES, CASH, amount, tag)

    def _insurance(self, index: int, month: dt.date) -> None:
        """Prepay the premium every third month and expense a third of it each month."""
        premium = self.profile.insurance_premium
        if index % 3 == 0:
            paid = _day(month, 3)
            self.journals.post(ACCRUAL, paid, PREPAID, CASH, premium, INSURANCE_TAG)
            self.journals.post(CASH_ONLY, paid, INSURANCE, CASH, premium, INSURANCE_TAG)
        share = (premium / 3).quantize(CENT, ROUND_DOWN)
        expensed = share if index % 3 < 2 else premium - 2 * share
        self.journals.post(ACCRUAL, month, INSURANCE, PREPAID, expensed, INSURANCE_TAG)

    def _equipment(self, index: int, month: dt.date) -> None:
        """Buy equipment now and then; depreciate each purchase over 36 months from the next."""
        if index == 0 or self.rng.random() < 0.12:
            cost = _cents(self.rng, 8_000, 30_000)
            self.journals.post(BOTH, _day(month, 12), EQUIPMENT, CASH, cost)
            share = (cost / DEPRECIATION_MONTHS).quantize(CENT, ROUND_DOWN)
            for offset in range(1, DEPRECIATION_MONTHS + 1):
                amount = share if offset < DEPRECIATION_MONTHS else cost - share * (offset - 1)
                planned = self.depreciation.get(index + offset, Decimal(0))
                self.depreciation[index + offset] = planned + amount
        amount = self.depreciation.pop(index, Decimal(0))
        self.journals.post(
            BOTH, month, DEPRECIATION, DEPRECIATION_RESERVE, amount, DEPRECIATION_TAG
        )

    def _loan(self, month: dt.date) -> None:
        rate = self.profile.loan_rate / 12
        interest = _money(float(self.loan_balance) * rate)
        paid = _day(month, 28)
        self.journals.post(BOTH, paid, INTEREST_EXPENSE, CASH, interest, INTEREST_EXPENSE_TAG)
        principal = min(
            (self.profile.loan / LOAN_TERM_MONTHS).quantize(CENT, ROUND_DOWN), self.loan_balance
        )
        self.journals.post(BOTH, paid, LOAN, CASH, principal)
        self.loan_balance -= principal

    def _savings(self, index: int, month: dt.date) -> None:
        """Earn interest on the savings account and move spare cash into it every six months."""
        interest = _money(float(self.savings_balance) * self.profile.savings_rate / 12)
        self.journals.post(BOTH, month, SAVINGS, INTEREST_INCOME, interest, INTEREST_INCOME_TAG)
        self.savings_balance += interest
        if index % 6 == 5:
            transfer = Decimal(self.rng.randint(2, 6) * 5_000)
            self.journals.post(BOTH, _day(month, 15), SAVINGS, CASH, transfer)
            self.savings_balance += transfer


def _budgets(fiscal_month_end: int, last_month: dt.date) -> tuple[Budget, ...]:
    """Return the operating budget of the current fiscal year and a 12-month forecast.

    The current fiscal year is the one containing the last month of the books; the forecast
    starts with that month.
    """
    year_start = fiscal_year_start(last_month, fiscal_month_end)
    year_end = fiscal_year_end(last_month, fiscal_month_end)
    return (
        Budget(OPERATING_BUDGET, f"FY{year_end.year} Operating Budget", year_start, year_end),
        Budget(
            FORECAST, "Conservative Forecast", last_month.replace(day=1), add_months(last_month, 11)
        ),
    )


# Planned revenue relative to the trend of actuals, per budget; costs are planned at trend.
REVENUE_PLAN_FACTORS = {OPERATING_BUDGET: 1.05, FORECAST: 0.9}


def _budget_lines(
    budget: Budget, profile: _Profile, first_month: dt.date
) -> list[BudgetLine]:
    factor = REVENUE_PLAN_FACTORS[budget.budget_id]
    lines: list[BudgetLine] = []
    for month in month_ends(budget.start_date, budget.end_date):
        index = (month.year - first_month.year) * 12 + month.month - first_month.month
        trend = profile.growth**index

        def plan(account_id: str, amount: float, tag: _Tag, month: dt.date = month) -> None:
            lines.append(
                BudgetLine(
                    budget.budget_id,
                    account_id,
                    month,
                    _money(amount),
                    tag.class_id,
                    tag.department_id,
                )
            )

        for class_id, base in profile.sales.items():
            plan(SALES_ACCOUNTS[class_id], float(base) * trend * factor, SALES_TAGS[class_id])
        product_sales = float(profile.sales[PRODUCTS]) * trend
        plan(COST_OF_GOODS, product_sales * profile.cost_ratio, COST_OF_GOODS_TAG)
        for department_id, base in profile.payroll.items():
            plan(SALARIES, float(base) * (1 + 0.03 * (index // 12)), PAYROLL_TAGS[department_id])
        plan(RENT, float(profile.rent), RENT_TAG)
        plan(SUPPLIES, float(profile.supplies), SUPPLIES_TAG)
        plan(INSURANCE, float(profile.insurance_premium) / 3, INSURANCE_TAG)
        # The loan is repaid evenly, so its mean balance is about half the original amount.
        mean_interest = float(profile.loan) * profile.loan_rate / 12 / 2
        plan(INTEREST_EXPENSE, mean_interest, INTEREST_EXPENSE_TAG)
    return lines


def _metric_values(
    rng: random.Random,
    profile: _Profile,
    months: list[dt.date],
    first_month: dt.date,
    budget_id: str | None,
) -> list[MetricValue]:
    """Return monthly metric values for the company and for each class.

    Counts of the company are the sums of the class counts; its retention rate is their mean.
    """
    values: list[MetricValue] = []
    shares = {PRODUCTS: 0.5, SERVICES: 0.3, TRAINING: 0.2}
    plan_factor = 1.0 if budget_id is None else REVENUE_PLAN_FACTORS[budget_id]
    for month in months:
        index = (month.year - first_month.year) * 12 + month.month - first_month.month
        totals = {HEADCOUNT: Decimal(0), CUSTOMERS: Decimal(0), RETENTION: Decimal(0)}
        for class_id, share in shares.items():
            noise = 1.0 if budget_id else rng.uniform(0.95, 1.05)
            by_metric = {
                HEADCOUNT: Decimal(round(profile.headcount * share * (1 + 0.02 * (index // 6)))),
                CUSTOMERS: Decimal(
                    round(profile.customers * share * profile.growth**index * plan_factor * noise)
                ),
                RETENTION: _money(min(99.5, 88 + 6 * share * plan_factor * noise + index * 0.05)),
            }
            for metric_id, value in by_metric.items():
                values.append(MetricValue(metric_id, month, value, budget_id, class_id))
                totals[metric_id] += value
        totals[RETENTION] = (totals[RETENTION] / len(shares)).quantize(CENT, ROUND_HALF_UP)
        for metric_id, value in totals.items():
            values.append(MetricValue(metric_id, month, value, budget_id, None))
    return values


def _company(index: int) -> Company:
    name = COMPANY_NAMES[index % len(COMPANY_NAMES)]
    if index >= len(COMPANY_NAMES):
        name = f"{name} {index // len(COMPANY_NAMES) + 1}"
    return Company(
        company_id=f"C{index + 1:03d}",
        name=name,
        fiscal_month_end=FISCAL_MONTH_ENDS[index % len(FISCAL_MONTH_ENDS)],
        currency=CURRENCIES[index % len(CURRENCIES)],
    )


def generate_books(index: int, *, seed: int, as_of: dt.date) -> Books:
    """Generate the books of company ``index`` (0-based), ending with the month before ``as_of``."""
    rng = random.Random(seed + index)
    company = _company(index)
    profile = _draw_profile(rng)
    last_month = add_months(as_of, -1)
    first_month = add_months(last_month, -(BOOK_MONTHS - 1))
    months = list(month_ends(first_month, last_month))

    lines = _Events(rng, profile, months).run()
    budgets = _budgets(company.fiscal_month_end, last_month)
    budget_lines = [
        line for budget in budgets for line in _budget_lines(budget, profile, first_month)
    ]
    metric_values = _metric_values(rng, profile, months, first_month, None)
    for budget in budgets:
        period = list(month_ends(budget.start_date, budget.end_date))
        metric_values.extend(_metric_values(rng, profile, period, first_month, budget.budget_id))

    return Books(
        company=company,
        accounts=CHART,
        classes=CLASSES,
        departments=DEPARTMENTS,
        budgets=budgets,
        metrics=METRICS,
        lines=lines,
        budget_lines=tuple(budget_lines),
        metric_values=tuple(metric_values),
        retained_earnings_id=RETAINED_EARNINGS,
        first_month=first_month,
        last_month=last_month,
    )


def generate_companies(count: int, *, seed: int, as_of: dt.date) -> tuple[Books, ...]:
    return tuple(generate_books(index, seed=seed, as_of=as_of) for index in range(count))
