"""Values and plain Python: what the emulation API (``created``, ``seed``, plans) speaks.

Text ↔ ``str``, bool_value ↔ ``bool``, null_value ↔ ``None``, number ↔ ``int``
(scale 0, not negative zero) or an exact ``Decimal``, list ↔ ``list``, dictionary
with text keys ↔ ``dict``; every other kind stays as its raw value object.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from ._values import (
    MANTISSA,
    SCALE_BITS,
    SCALE_MAX,
    SIGN_BIT,
    UINT32,
    BadValue,
    Value,
    check_value,
    uint32,
)

_RAW = frozenset({"date", "timeofday", "datetime", "time_zone", "duration", "file", "table", "set"})
"""Kinds that stay raw value objects in plain Python."""


def number_to_python(parts: Mapping[str, Any]) -> int | Decimal:
    """A checked ``v1Number`` as an ``int`` (scale 0, not -0) or an exact ``Decimal``."""
    lo, mid, hi, flags = (uint32(parts.get(k, 0), k) for k in ("lo", "mid", "hi", "flags"))
    mantissa = lo | mid << 32 | hi << 64
    scale = (flags & SCALE_BITS) >> 16
    negative = bool(flags & SIGN_BIT)
    if scale == 0 and not (negative and mantissa == 0):
        return -mantissa if negative else mantissa
    digits = tuple(int(c) for c in str(mantissa))
    return Decimal((int(negative), digits, -scale))


def number_of(value: int | Decimal) -> dict[str, int]:
    """The ``v1Number`` of an ``int`` or a ``Decimal``, exactly; zero parts are omitted,
    as protojson omits them. ``ValueError`` when it does not fit 96 bits and 28 places."""
    if isinstance(value, int):
        negative, mantissa, scale = value < 0, abs(value), 0
    else:
        if not value.is_finite():
            raise ValueError(f"{value} is not a finite number")
        sign, digits, exponent = value.as_tuple()
        assert isinstance(exponent, int)
        negative, mantissa = bool(sign), int("".join(map(str, digits)))
        if exponent > 0:
            mantissa, scale = mantissa * 10**exponent, 0
        else:
            scale = -exponent
    if scale > SCALE_MAX:
        raise ValueError(f"{value} has more than {SCALE_MAX} decimal places")
    if mantissa >= MANTISSA:
        raise ValueError(f"{value} does not fit a 96-bit mantissa")
    parts = {
        "lo": mantissa & (UINT32 - 1),
        "mid": (mantissa >> 32) & (UINT32 - 1),
        "hi": mantissa >> 64,
        "flags": scale << 16 | (SIGN_BIT if negative else 0),
    }
    return {key: part for key, part in parts.items() if part}


def to_plain(value: Value) -> Any:
    """A checked value as plain Python (see the module's table)."""
    [(kind, inner)] = value.items()
    if kind in ("text", "bool_value"):
        return inner
    if kind == "null_value":
        return None
    if kind == "number":
        return number_to_python(inner)
    if kind == "list":
        return [to_plain(item) for item in inner.get("items") or ()]
    if kind == "dictionary":
        entries = inner.get("entries") or ()
        if all("text" in entry["key"] for entry in entries):
            return {entry["key"]["text"]: to_plain(entry["value"]) for entry in entries}
    return value


def from_plain(value: Any) -> Value:
    """Plain Python as a value: the inverse of ``to_plain``. A ``float`` becomes the
    decimal its ``repr`` shows. ``TypeError``/``ValueError`` for what no value holds."""
    if value is None:
        return {"null_value": None}
    if isinstance(value, bool):
        return {"bool_value": value}
    if isinstance(value, str):
        return {"text": value}
    if isinstance(value, int | Decimal):
        return {"number": number_of(value)}
    if isinstance(value, float):
        return {"number": number_of(Decimal(repr(value)))}
    if isinstance(value, list | tuple):
        return {"list": {"items": [from_plain(item) for item in value]}}
    if isinstance(value, Mapping):
        if _is_raw(value):
            return dict(value)
        entries = [{"key": _key(k), "value": from_plain(v)} for k, v in value.items()]
        return {"dictionary": {"entries": entries}}
    raise TypeError(f"no Kognitos value holds a {type(value).__name__}")


def _key(key: Any) -> Value:
    if isinstance(key, str | bool | int | Decimal | float):
        return from_plain(key)
    raise TypeError(f"a dictionary key must be hashable (text, number, bool), not {key!r}")


def _is_raw(value: Mapping[str, Any]) -> bool:
    """Whether a mapping is a value ``to_plain`` leaves raw (so it goes back as it is)."""
    if len(value) != 1:
        return False
    [(kind, inner)] = value.items()
    if kind not in _RAW and kind != "dictionary":
        return False
    try:
        check_value(dict(value))
    except BadValue:
        return False
    if kind == "dictionary":
        return not all("text" in entry["key"] for entry in inner.get("entries") or ())
    return True
