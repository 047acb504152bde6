"""Class and department figures against the company total, per account, month and basis.

The fetch requests the actuals Profit and Loss of each class and of each department (see
``reach_dq.fetch.plan.segment_requests``). A ClassId filter returns the rows of the journal
lines tagged with exactly that class, not its child classes, and the same holds for
departments. The contract leaves this open; the reference partner server behaves so. The sum
over all classes of an account's month is then the part of the company total that carries a
class, and the rest (the remainder) carries none.

- ``accuracy.segments_within_total`` fails where the sum over classes (or departments) exceeds
  the company total in absolute value. Figures counted twice, or a filter that includes child
  segments, show up here.
- ``accuracy.segments_unassigned`` warns where a remainder is left, with its size. Untagged
  lines are allowed, but a partner whose reports by class do not add up to the company should
  know where the difference sits.

Both read the months of the requested range. A company and segment kind is checked on a basis
only when the unfiltered Profit and Loss and the one of every listed segment returned 2xx on
it. The tolerance is zero by default and at most one cent per summed row.

NOTE: an account's month that mixes signs across segments (a refund in one class, sales in
another) can exceed the total in absolute value without double counting, and then fails too.
"""

from __future__ import annotations

import functools
from decimal import Decimal

from checks.rules import ACTUALS, Rule, run_rule, validated_tolerance
from reach_dq.fetch.plan import MAX_SEGMENT_FILTERS
from reach_dq.findings import Category, Finding, Outcome
from reach_dq.runner import Check, CheckContext

SEGMENT_TOLERANCE_PER_LINE = Decimal("0.00")
SEGMENT_DATASETS = ("classes", "departments")

_FIGURES = f"""
WITH listed AS (
    SELECT company_id, 'classes' AS dataset, count(DISTINCT class_id) AS segments
    FROM classes WHERE snapshot_id = $snapshot_id GROUP BY company_id
    UNION ALL
    SELECT company_id, 'departments', count(DISTINCT department_id)
    FROM departments WHERE snapshot_id = $snapshot_id GROUP BY company_id
),
returned AS MATERIALIZED (
    SELECT
        company_id,
        CASE
            WHEN class_id IS NULL AND department_id IS NULL THEN 'company'
            WHEN class_id IS NOT NULL THEN 'classes'
            ELSE 'departments'
        END AS dataset,
        basis,
        count(DISTINCT coalesce(class_id, department_id)) AS segments
    FROM http_exchanges
    WHERE snapshot_id = $snapshot_id AND operation_id = 'getProfitAndLoss'
      AND status_code BETWEEN 200 AND 299 AND budget_id IS NULL
      AND (class_id IS NULL OR department_id IS NULL) AND basis IS NOT NULL
    GROUP BY ALL
),
complete AS (
    SELECT a.company_id, a.dataset, a.basis
    FROM returned AS a
    JOIN listed AS l ON l.company_id = a.company_id AND l.dataset = a.dataset
    JOIN returned AS c
        ON c.company_id = a.company_id AND c.basis = a.basis AND c.dataset = 'company'
    WHERE l.segments > 0 AND a.segments >= l.segments
),
-- Only the companies and bases of complete are summed: keys and figures read no others.
totals AS MATERIALIZED (
    SELECT company_id, basis, account_id, date, sum(amount) AS amount, count(*) AS lines
    FROM profit_and_loss
    WHERE snapshot_id = $snapshot_id AND {ACTUALS}
      AND date BETWEEN $first_month AND $last_month
      AND account_id IS NOT NULL AND basis IS NOT NULL AND amount IS NOT NULL
      AND (company_id, basis) IN (SELECT company_id, basis FROM complete)
    GROUP BY ALL
),
segment_rows AS MATERIALIZED (
    SELECT
        CASE WHEN class_id IS NOT NULL THEN 'classes' ELSE 'departments' END AS dataset,
        company_id, basis, account_id, date, sum(amount) AS amount, count(*) AS lines
    FROM profit_and_loss
    WHERE snapshot_id = $snapshot_id AND budget_id IS NULL
      AND (class_id IS NULL) <> (department_id IS NULL)
      AND date BETWEEN $first_month AND $last_month
      AND account_id IS NOT NULL AND basis IS NOT NULL AND amount IS NOT NULL
      AND (company_id, basis) IN (SELECT company_id, basis FROM complete)
    GROUP BY ALL
),
keys AS (
    SELECT c.company_id, c.dataset, c.basis, t.account_id, t.date
    FROM complete AS c JOIN totals AS t USING (company_id, basis)
    UNION
    SELECT s.company_id, s.dataset, s.basis, s.account_id, s.date
    FROM segment_rows AS s JOIN complete AS c USING (company_id, dataset, basis)
),
figures AS (
    SELECT
        k.company_id,
        k.dataset,
        k.basis,
        k.account_id,
        k.date,
        coalesce(t.amount, 0) AS total,
        coalesce(s.amount, 0) AS assigned,
        coalesce(t.lines, 0) + coalesce(s.lines, 0) AS lines,
        abs(coalesce(s.amount, 0)) > abs(coalesce(t.amount, 0)) + $tolerance * (
            coalesce(t.lines, 0) + coalesce(s.lines, 0)) AS exceeds
    FROM keys AS k
    LEFT JOIN totals AS t USING (company_id, basis, account_id, date)
    LEFT JOIN segment_rows AS s USING (company_id, dataset, basis, account_id, date)
)"""

_CHECKED = f"{_FIGURES} SELECT company_id, dataset, count(*) FROM figures GROUP BY ALL"
_CASE_COLUMNS = """
    SELECT company_id, dataset, account_id, date, basis,
           'sum over ' || dataset AS field, total AS expected, assigned AS actual,
           assigned - total AS delta
    FROM figures"""
_MISSING = "cannot check {company}: it has no statement request in the snapshot"
# Why a company and segment kind was not checked: one reason for each company with requests.
_REASONS = f"""{_FIGURES},
kinds AS (
    SELECT DISTINCT e.company_id, k.dataset
    FROM http_exchanges AS e CROSS JOIN (VALUES ('classes'), ('departments')) AS k(dataset)
    WHERE e.snapshot_id = $snapshot_id AND e.company_id IS NOT NULL
)
SELECT k.company_id, k.dataset,
       'cannot check ' || k.company_id || ': ' || CASE
           WHEN coalesce(l.segments, 0) = 0 THEN 'it lists no ' || k.dataset
           WHEN l.segments > {MAX_SEGMENT_FILTERS} THEN 'it lists ' || l.segments || ' '
               || k.dataset || ', more than the {MAX_SEGMENT_FILTERS} whose Profit and Loss '
               || 'the fetch requests'
           ELSE 'the Profit and Loss of the company or of some of its ' || l.segments || ' '
               || k.dataset || ' did not return 2xx on any basis'
       END
FROM kinds AS k
LEFT JOIN listed AS l USING (company_id, dataset)
"""

WITHIN_TOTAL = Rule(
    check="accuracy.segments_within_total",
    category=Category.ACCURACY,
    datasets=SEGMENT_DATASETS,
    checked_sql=_CHECKED,
    cases_sql=f"{_FIGURES} {_CASE_COLUMNS} WHERE exceeds",
    unit="account-month",
    passed=(
        "Profit and Loss of {company} by {dataset} stays within the company total "
        "({counted} checked)"
    ),
    failed=(
        "Profit and Loss of {company} summed over {dataset} exceeds the company total: "
        "{failures} of {counted}; first {first}"
    ),
    missing=_MISSING,
    reasons_sql=_REASONS,
)

UNASSIGNED = Rule(
    check="accuracy.segments_unassigned",
    category=Category.ACCURACY,
    datasets=SEGMENT_DATASETS,
    checked_sql=_CHECKED,
    cases_sql=(
        f"{_FIGURES} {_CASE_COLUMNS} "
        "WHERE NOT exceeds AND abs(total - assigned) > $tolerance * lines"
    ),
    unit="account-month",
    passed="Profit and Loss of {company} is fully assigned to {dataset} ({counted} checked)",
    failed=(
        "Profit and Loss of {company} leaves a remainder without {dataset}: {failures} of "
        "{counted} (the remainder is expected minus actual); first {first}"
    ),
    failing=Outcome.WARNING,
    missing=_MISSING,
    reasons_sql=_REASONS,
)


def segment_checks(*, tolerance_per_line: Decimal = SEGMENT_TOLERANCE_PER_LINE) -> list[Check]:
    """Return both segment checks, comparing within ``tolerance_per_line`` per summed row.

    Raises ConfigError unless ``tolerance_per_line`` is a Decimal from 0.00 to 0.01.
    """
    tolerance = validated_tolerance(tolerance_per_line)
    return [
        Check(rule.check, rule.category, rule.datasets, functools.partial(_run, rule, tolerance))
        for rule in (WITHIN_TOTAL, UNASSIGNED)
    ]


def _run(rule: Rule, tolerance: Decimal, context: CheckContext) -> list[Finding]:
    return run_rule(rule, context, {"tolerance": tolerance})
