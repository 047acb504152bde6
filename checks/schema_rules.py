"""The custom rules of the Pandera schemas: vectorised functions over a column or a frame.

``checks.schemas`` builds its schemas with them, and ``checks.suspect_rows`` recognises them by
identity to write the same rule in SQL.
"""

from __future__ import annotations

import decimal

import pandas as pd


def is_month_end(dates: pd.Series) -> pd.Series:
    return dates.dt.is_month_end


def is_finite_decimal(values: pd.Series) -> pd.Series:
    return values.map(lambda value: isinstance(value, decimal.Decimal) and value.is_finite())


def is_currency_code(values: pd.Series) -> pd.Series:
    # str.fullmatch, because Check.str_matches uses re.match, whose "$" also accepts "USD\n".
    return values.str.fullmatch(r"[A-Z]{3}")


def start_not_after_end(frame: pd.DataFrame) -> pd.Series:
    start, end = frame["start_date"], frame["end_date"]
    return (start <= end) | start.isna() | end.isna()
