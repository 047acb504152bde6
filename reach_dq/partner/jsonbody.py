"""JSON bodies that carry ``Decimal`` values as JSON numbers with exactly their digits.

The standard ``json`` module cannot emit a ``Decimal`` without a detour through ``float``, which
can change the digits. This encoder writes ``Decimal("1234.50")`` as the number ``1234.50``.
Floats are rejected so that no amount reaches a response through binary floating point.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from starlette.responses import Response


def dumps(value: Any) -> str:
    """Encode dicts, lists, tuples, str, int, bool, None, Decimal and date as compact JSON."""
    parts: list[str] = []
    _encode(value, parts)
    return "".join(parts)


def _encode(value: Any, parts: list[str]) -> None:
    if value is None or isinstance(value, (bool, int, str)):
        parts.append(json.dumps(value, ensure_ascii=False))
    elif isinstance(value, Decimal):
        parts.append(_decimal(value))
    elif isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        parts.append(f'"{value.isoformat()}"')
    elif isinstance(value, Mapping):
        _encode_object(value, parts)
    elif isinstance(value, (list, tuple)):
        _encode_array(value, parts)
    else:
        raise TypeError(
            f"cannot encode {value!r} of type {type(value).__name__} as exact JSON; "
            "expected dict, list, tuple, str, int, bool, None, Decimal or date"
        )


def _decimal(value: Decimal) -> str:
    if not value.is_finite():
        raise ValueError(f"cannot encode the non-finite Decimal {value!r} as a JSON number")
    return format(value, "f")


def _encode_object(value: Mapping[Any, Any], parts: list[str]) -> None:
    parts.append("{")
    for index, (key, item) in enumerate(value.items()):
        if not isinstance(key, str):
            raise TypeError(f"JSON object keys must be str, got {key!r}")
        if index:
            parts.append(",")
        parts.append(json.dumps(key, ensure_ascii=False))
        parts.append(":")
        _encode(item, parts)
    parts.append("}")


def _encode_array(value: list[Any] | tuple[Any, ...], parts: list[str]) -> None:
    parts.append("[")
    for index, item in enumerate(value):
        if index:
            parts.append(",")
        _encode(item, parts)
    parts.append("]")


class ExactJSONResponse(Response):
    """A JSON response whose body is encoded by ``dumps``."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return dumps(content).encode("utf-8")
