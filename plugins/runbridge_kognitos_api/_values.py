"""Typed values (``commonV1Value``) to and from plain Python.

Every value on the wire is an object with exactly one key naming its kind. Numbers are
96-bit decimals, ``{lo, mid, hi, flags}``: read as ``int`` when their scale is 0 and as
``Decimal`` otherwise, so that a value read and sent back (a retry) has the same
mantissa, scale and sign bits it came with. Kinds without a plain Python twin (files,
tables, sets, durations, time zones, date-times in a named zone, kinds not yet
documented) are read as ``Value``, which is sent
back verbatim; a caller may pass a ``Value`` too, to send any documented kind.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any

MAX_SCALE = 28
"""The largest scale (digits after the point) a ``v1Number`` holds."""

MANTISSA_BITS = 96
_WORD = 0xFFFFFFFF
_SIGN = 1 << 31
_SCALE_SHIFT = 16
_FLAG_BITS = _SIGN | (0xFF << _SCALE_SHIFT)
_KINDS = frozenset(
    {"null_value", "bool_value", "number", "text", "date", "timeofday", "datetime", "list"}
    | {"dictionary"}
)
"""Kinds read into plain Python; others are kept as ``Value``."""
_DURATION = re.compile(r"(-)?(\d+)(?:\.(\d{1,9}))?s")


@dataclasses.dataclass(frozen=True)
class Value:
    """A ``commonV1Value`` kept as the provider spells it (``{"file": {...}}``).

    Read for the kinds that have no plain Python twin, and sent verbatim when given
    as an input. It serializes as its ``wire`` object.
    """

    wire: Mapping[str, Any]

    def __hash__(self) -> int:
        return hash(repr(self.wire))


class BadValue(ValueError):
    """A value that cannot be translated, with the path of the offending part."""


def _fail(path: str, message: str) -> BadValue:
    return BadValue(f"{path}: {message}")


# -- to the wire ------------------------------------------------------------------------


def encode_number(number: int | Decimal, path: str = "value") -> dict[str, int]:
    """A ``v1Number`` for ``number``, exactly, or ``ValueError`` if it does not fit."""
    if isinstance(number, int):
        sign, mantissa, scale = int(number < 0), abs(number), 0
    else:
        if not number.is_finite():
            raise _fail(path, f"{number} is not a finite number")
        negative, digits, exponent = number.as_tuple()
        assert isinstance(exponent, int)
        mantissa = int("".join(map(str, digits)) or "0")
        if exponent > 0:
            mantissa, scale = mantissa * 10**exponent, 0
        else:
            scale = -exponent
        sign = negative
        if scale > MAX_SCALE:
            raise _fail(path, f"{number} has {scale} digits after the point; at most 28 fit")
    if mantissa >> MANTISSA_BITS:
        raise _fail(path, f"{number} does not fit a 96-bit decimal")
    return {
        "lo": mantissa & _WORD,
        "mid": (mantissa >> 32) & _WORD,
        "hi": mantissa >> 64,
        "flags": (scale << _SCALE_SHIFT) | (_SIGN if sign else 0),
    }


def _duration_text(value: timedelta) -> str:
    micros = value // timedelta(microseconds=1)
    sign, micros = ("-" if micros < 0 else ""), abs(micros)
    seconds, fraction = divmod(micros, 1_000_000)
    return f"{sign}{seconds}.{fraction:06d}s" if fraction else f"{sign}{seconds}s"


def _date(value: date) -> dict[str, int]:
    return {"year": value.year, "month": value.month, "day": value.day}


def _time(value: time | datetime) -> dict[str, int]:
    return {
        "hours": value.hour,
        "minutes": value.minute,
        "seconds": value.second,
        "nanos": value.microsecond * 1000,
    }


def _hashable(value: Any, path: str) -> dict[str, Any]:
    encoded = encode(value, path)
    if encoded.keys() & {"null_value", "time_zone", "list", "dictionary", "set", "file", "table"}:
        raise _fail(path, f"a {type(value).__name__} cannot be a dictionary key or set item")
    return encoded


def encode(value: Any, path: str = "value") -> dict[str, Any]:
    """The ``commonV1Value`` for a plain Python value; ``ValueError`` names ``path``."""
    if value is None:
        return {"null_value": "NULL_VALUE"}
    if isinstance(value, bool):
        return {"bool_value": value}
    if isinstance(value, int | Decimal):
        return {"number": encode_number(value, path)}
    if isinstance(value, float):
        return {"number": encode_number(Decimal(repr(value)), path)}
    if isinstance(value, str):
        return {"text": value}
    if isinstance(value, Value):
        return dict(value.wire)
    if isinstance(value, datetime):
        fields: dict[str, Any] = {**_date(value), **_time(value)}
        offset = value.utcoffset()
        if offset is not None:
            fields["utc_offset"] = _duration_text(offset)
        return {"datetime": fields}
    if isinstance(value, date):
        return {"date": _date(value)}
    if isinstance(value, time):
        return {"timeofday": _time(value)}
    if isinstance(value, Mapping):
        return {
            "dictionary": {
                "entries": [
                    {"key": _hashable(k, f"{path}[{k!r}]"), "value": encode(v, f"{path}[{k!r}]")}
                    for k, v in value.items()
                ]
            }
        }
    if isinstance(value, list | tuple):
        return {"list": {"items": [encode(v, f"{path}[{n}]") for n, v in enumerate(value)]}}
    raise _fail(path, f"a {type(value).__name__} has no Kognitos value type")


def encode_inputs(inputs: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """``InvokeAutomationBody.inputs``: each input as a typed value."""
    return {name: encode(value, f"inputs[{name!r}]") for name, value in inputs.items()}


# -- from the wire ----------------------------------------------------------------------


def _word(part: object, name: str, path: str) -> int:
    # int64 in the schema, uint32 in practice; numbers or numeric strings, as protojson
    # reads them. A signed reading of a word (a negative flags) is taken back to 32 bits.
    if isinstance(part, str) and re.fullmatch(r"-?\d{1,20}", part):
        part = int(part)
    if part is None:
        return 0
    if not isinstance(part, int) or isinstance(part, bool) or not -(1 << 31) <= part <= _WORD:
        raise _fail(path, f"number.{name} is not a 32-bit word: {part!r:.40}")
    return part & _WORD


def decode_number(number: object, path: str = "value") -> int | Decimal:
    """The value of a ``v1Number``: ``int`` at scale 0, else ``Decimal`` (exact)."""
    if not isinstance(number, Mapping):
        raise _fail(path, "number is not an object")
    lo, mid, hi, flags = (_word(number.get(k), k, path) for k in ("lo", "mid", "hi", "flags"))
    scale = (flags >> _SCALE_SHIFT) & 0xFF
    if flags & ~_FLAG_BITS or scale > MAX_SCALE:
        raise _fail(path, f"number.flags {flags:#x} has bits outside scale (0-28) and sign")
    mantissa = lo | (mid << 32) | (hi << 64)
    negative = bool(flags & _SIGN)
    if scale == 0 and not (negative and mantissa == 0):
        return -mantissa if negative else mantissa
    digits = tuple(int(d) for d in str(mantissa))
    return Decimal((int(negative), digits, -scale))


def _int_fields(fields: object, names: tuple[str, ...], path: str) -> list[int]:
    if not isinstance(fields, Mapping):
        raise _fail(path, "expected an object")
    out = []
    for name in names:
        part = fields.get(name, 0)
        if not isinstance(part, int) or isinstance(part, bool):
            raise _fail(path, f"{name} is not an integer")
        out.append(part)
    return out


def _parse_duration(text: object, path: str) -> timedelta:
    match = _DURATION.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise _fail(path, f"duration {text!r:.40} is not like '3.5s'")
    micros = int(match[2]) * 1_000_000 + int((match[3] or "").ljust(6, "0")[:6] or 0)
    return timedelta(microseconds=-micros if match[1] else micros)


def _decode_datetime(fields: Mapping[str, Any], path: str) -> datetime | Value:
    if fields.get("time_zone"):
        return Value({"datetime": fields})
    year, month, day, hours, minutes, seconds, nanos = _int_fields(
        fields, ("year", "month", "day", "hours", "minutes", "seconds", "nanos"), path
    )
    tz = None
    if (offset := fields.get("utc_offset")) not in (None, ""):
        shift = _parse_duration(offset, path)
        tz = UTC if not shift else timezone(shift)
    return datetime(year, month, day, hours, minutes, seconds, nanos // 1000, tzinfo=tz)


def decode(value: object, path: str = "value") -> Any:
    """The plain Python value of a ``commonV1Value`` (``Value`` for kinds without one)."""
    if not isinstance(value, Mapping) or len(value) != 1:
        raise _fail(path, "a value is an object with exactly one key")
    ((kind, body),) = value.items()
    if kind == "null_value":
        return None
    if kind == "bool_value" and isinstance(body, bool):
        return body
    if kind == "text" and isinstance(body, str):
        return body
    if kind == "number":
        return decode_number(body, path)
    if kind == "date":
        year, month, day = _int_fields(body, ("year", "month", "day"), path)
        return date(year, month, day) if year and month and day else Value(value)
    if kind == "timeofday":
        hours, minutes, seconds, nanos = _int_fields(
            body, ("hours", "minutes", "seconds", "nanos"), path
        )
        return time(hours, minutes, seconds, nanos // 1000)
    if kind == "datetime" and isinstance(body, Mapping):
        return _decode_datetime(body, path)
    if kind == "list" and isinstance(body, Mapping):
        items = body.get("items") or []
        return [decode(item, f"{path}[{n}]") for n, item in enumerate(_array(items, path))]
    if kind == "dictionary" and isinstance(body, Mapping):
        out: dict[Any, Any] = {}
        for n, entry in enumerate(_array(body.get("entries") or [], path)):
            if not isinstance(entry, Mapping):
                raise _fail(f"{path}.entries[{n}]", "an entry is an object")
            key = decode(entry.get("key"), f"{path}.entries[{n}].key")
            out[key] = decode(entry.get("value"), f"{path}[{key!r}]")
        return out
    if kind in _KINDS:
        raise _fail(path, f"malformed {kind} value")
    return Value(value)  # file, table, set, duration, time_zone, or a kind not yet known


def _array(items: object, path: str) -> list[Any]:
    if not isinstance(items, list):
        raise _fail(path, "expected an array")
    return items


def decode_values(values: object, path: str) -> dict[str, Any]:
    """A ``{name: Value}`` map (``user_inputs``, ``outputs``) as plain Python by name."""
    if values is None:
        return {}
    if not isinstance(values, Mapping):
        raise _fail(path, "expected an object of values by name")
    out = {}
    for name, value in values.items():
        try:
            out[name] = decode(value, f"{path}[{name!r}]")
        except (ValueError, TypeError, OverflowError):  # never fail a read on one odd value
            # (a month 13, an offset of a day, a list as a key): keep it as sent
            out[name] = Value(value) if isinstance(value, Mapping) else value
    return out
