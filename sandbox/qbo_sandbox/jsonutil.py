"""JSON encoding/decoding with exact money: numbers parse to ``Decimal``, never ``float``."""

from __future__ import annotations

import json
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

CENT = Decimal("0.01")


class BadJson(ValueError):
    """The request body is not valid JSON."""


def loads(data: bytes | str) -> Any:
    """Parse JSON; every non-integer number becomes a ``Decimal`` (integers stay ``int``)."""
    try:
        return json.loads(data, parse_float=Decimal)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadJson(str(exc)) from exc


def _default(obj: Any) -> Any:
    if isinstance(obj, Decimal):
        # Wire form only: amounts have <= 15 significant digits, so the shortest float repr
        # reproduces the decimal text exactly. No arithmetic ever happens on this float.
        if obj == obj.to_integral_value():
            return int(obj)
        return float(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


_ENCODER = json.JSONEncoder(default=_default, separators=(",", ":"), ensure_ascii=False)


def dumps(obj: Any) -> str:
    """Compact JSON text; ``Decimal`` is written as a JSON number."""
    return _ENCODER.encode(obj)


def dumpb(obj: Any) -> bytes:
    """Compact JSON as UTF-8 bytes."""
    return _ENCODER.encode(obj).encode("utf-8")


def to_decimal(value: Any) -> Decimal | None:
    """Coerce a JSON value to ``Decimal``; ``None``/``""`` mean absent. Raises ``ValueError``."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError("boolean is not a number")
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):  # only reachable for callers that bypass ``loads``
        return Decimal(repr(value))
    if isinstance(value, str):
        try:
            return Decimal(value.strip())
        except InvalidOperation as exc:
            raise ValueError(f"not a number: {value!r}") from exc
    raise ValueError(f"not a number: {value!r}")


def money(value: Decimal) -> Decimal:
    """Round to cents, half-up (QBO's rule for line amounts and totals)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)
