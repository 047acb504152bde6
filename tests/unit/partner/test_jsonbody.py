from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest

from reach_dq.partner.jsonbody import ExactJSONResponse, dumps


def test_decimal_keeps_its_digits() -> None:
    assert dumps({"Amount": Decimal("1234.50")}) == '{"Amount":1234.50}'


def test_decimal_that_float_would_round_stays_exact() -> None:
    amount = Decimal("12345678901234567.89")
    assert json.loads(dumps([amount]), parse_float=Decimal) == [amount]


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        (Decimal("-0.01"), "-0.01"),
        (Decimal("0.00"), "0.00"),
        (Decimal("1E+3"), "1000"),
        (Decimal("21"), "21"),
    ],
)
def test_decimal_written_without_exponent(amount: Decimal, text: str) -> None:
    assert dumps(amount) == text


def test_dates_become_iso_strings() -> None:
    assert dumps({"Date": dt.date(2025, 1, 31)}) == '{"Date":"2025-01-31"}'


def test_plain_values_and_nesting() -> None:
    value = {"a": [1, True, None, "x\"y"], "b": {"c": ()}, "é": "ü"}
    assert dumps(value) == '{"a":[1,true,null,"x\\"y"],"b":{"c":[]},"é":"ü"}'


def test_float_is_rejected() -> None:
    with pytest.raises(TypeError, match=r"cannot encode 0\.1 of type float"):
        dumps({"Amount": 0.1})


def test_non_finite_decimal_is_rejected() -> None:
    with pytest.raises(ValueError, match="non-finite Decimal Decimal\\('NaN'\\)"):
        dumps(Decimal("NaN"))


def test_non_string_key_is_rejected() -> None:
    with pytest.raises(TypeError, match="JSON object keys must be str, got 1"):
        dumps({1: "x"})


def test_response_body_and_media_type() -> None:
    response = ExactJSONResponse({"Amount": Decimal("5.10")})
    assert response.body == b'{"Amount":5.10}'
    assert response.media_type == "application/json"
