"""``commonV1Value``: the shape checks an invoke's inputs must pass.

A value is an object with exactly one documented key. ``v1Number`` is a 96-bit
decimal: ``lo``, ``mid`` and ``hi`` hold the mantissa, ``flags`` its scale (bits
16-23, at most 28) and sign (bit 31); each part is a uint32, given as a JSON
number or a numeric string (protojson accepts both).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from ._facts import INT32_MAX

Value = dict[str, Any]

UINT32 = 2**32
MANTISSA = 2**96
SCALE_MAX = 28
SCALE_BITS = 0x00FF0000
"""``v1Number.flags`` bits 16-23: the scale."""
SIGN_BIT = 0x80000000
"""``v1Number.flags`` bit 31: the sign."""

HASHABLE = ("bool_value", "number", "text", "date", "timeofday", "datetime", "duration")
"""``v1HashableValue``: dictionary keys and set items (no ``null_value``, no ``time_zone``)."""

_CELLS = frozenset(
    {
        "null_value",
        "conceptual_value",
        "text_value",
        "number_value",
        "boolean_value",
        "datetime_value",
        "date_value",
        "time_value",
        "file_value",
        "dictionary_value",
        "list_value",
        "opaque_value",
        "table_value",
        "sensitive_value",
    }
)
"""``bdkV1Value``: the union of a table's cells."""

_DEPTH = 64
_DURATION = re.compile(r"-?\d{1,12}(\.\d{1,9})?s")
_BASE64 = re.compile(r"[A-Za-z0-9+/_-]*={0,2}")
_DIGITS = re.compile(r"\d{1,10}")
_INT32 = re.compile(r"-?\d{1,10}")


class BadValue(ValueError):
    """A value that breaks the documented schema; the message says where and how."""


# -- checks ------------------------------------------------------------------------------


def check_value(value: object, path: str = "", depth: int = 0) -> None:
    """Raise ``BadValue`` unless ``value`` is a well-formed ``commonV1Value``."""
    _one_of(value, path, depth, _KINDS, "a value")


def check_inputs(inputs: object) -> None:
    """Raise ``BadValue`` unless ``inputs`` is a map of input names to values."""
    if not isinstance(inputs, dict):
        raise BadValue("inputs must be an object mapping input names to values")
    for name, value in inputs.items():
        check_value(value, f"inputs[{json.dumps(name)}]")


def _one_of(value: object, path: str, depth: int, kinds: Mapping[str, _Check], what: str) -> None:
    if depth > _DEPTH:
        raise BadValue(f"{path}: values nest deeper than {_DEPTH} levels")
    if not isinstance(value, dict) or len(value) != 1:
        raise BadValue(f"{path}: {what} must hold exactly one of {', '.join(kinds)}")
    [(kind, inner)] = value.items()
    check = kinds.get(kind)
    if check is None:
        raise BadValue(f"{path}: {kind!r} is not one of {', '.join(kinds)}")
    check(inner, _at(path, kind), depth + 1)


def _at(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _object(value: object, path: str, keys: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise BadValue(f"{path}: must be an object")
    if unknown := sorted(set(value) - set(keys)):
        raise BadValue(f"{path}: unknown field {unknown[0]!r} (fields: {', '.join(keys)})")
    return value


def _list(value: object, path: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise BadValue(f"{path}: must be an array")
    return value


def _string(value: object, path: str) -> str:
    if not isinstance(value, str):
        raise BadValue(f"{path}: must be a string")
    return value


def uint32(value: object, path: str) -> int:
    """A ``v1Number`` part: a JSON number or numeric string from 0 to 2**32 - 1."""
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and _DIGITS.fullmatch(value):
        number = int(value)
    else:
        raise BadValue(f"{path}: must be a non-negative integer (a number or numeric string)")
    if not 0 <= number < UINT32:
        raise BadValue(f"{path}: must be from 0 to {UINT32 - 1}, not {number}")
    return number


def _int32(value: object, path: str, low: int, high: int) -> None:
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and _INT32.fullmatch(value):
        number = int(value)
    else:
        raise BadValue(f"{path}: must be an integer")
    if not (-INT32_MAX - 1 <= number <= INT32_MAX and low <= number <= high):
        raise BadValue(f"{path}: must be from {low} to {high}, not {number}")


def _fields(value: object, path: str, ranges: Mapping[str, tuple[int, int]]) -> dict[str, Any]:
    fields = _object(value, path, tuple(ranges))
    for key, (low, high) in ranges.items():
        if key in fields:
            _int32(fields[key], _at(path, key), low, high)
    return fields


_DATE = {"year": (0, 9999), "month": (0, 12), "day": (0, 31)}
_TIME = {"hours": (0, 24), "minutes": (0, 59), "seconds": (0, 60), "nanos": (0, 999_999_999)}


def _number(value: object, path: str, depth: int) -> None:
    parts = _object(value, path, ("lo", "mid", "hi", "flags"))
    for key in ("lo", "mid", "hi"):
        if key in parts:
            uint32(parts[key], _at(path, key))
    flags = uint32(parts.get("flags", 0), _at(path, "flags"))
    if flags & ~(SCALE_BITS | SIGN_BIT):
        raise BadValue(f"{path}.flags: only bits 16-23 (scale) and 31 (sign) may be set")
    if (flags & SCALE_BITS) >> 16 > SCALE_MAX:
        raise BadValue(f"{path}.flags: the scale must be from 0 to {SCALE_MAX}")


def _bool(value: object, path: str, depth: int) -> None:
    if not isinstance(value, bool):
        raise BadValue(f"{path}: must be true or false")


def _null(value: object, path: str, depth: int) -> None:
    # google.protobuf.NullValue in protojson: JSON null, or the enum's name.
    if value is not None and value != "NULL_VALUE":
        raise BadValue(f'{path}: must be null or "NULL_VALUE"')


def _text(value: object, path: str, depth: int) -> None:
    _string(value, path)


def _date(value: object, path: str, depth: int) -> None:
    _fields(value, path, _DATE)


def _timeofday(value: object, path: str, depth: int) -> None:
    _fields(value, path, _TIME)


def _datetime(value: object, path: str, depth: int) -> None:
    keys = {**_DATE, **_TIME, "utc_offset": (0, 0), "time_zone": (0, 0)}
    fields = _object(value, path, tuple(keys))
    _fields({k: v for k, v in fields.items() if k in _DATE or k in _TIME}, path, _DATE | _TIME)
    if "utc_offset" in fields and "time_zone" in fields:
        raise BadValue(f"{path}: give utc_offset or time_zone, not both")
    if "utc_offset" in fields:
        _duration(fields["utc_offset"], _at(path, "utc_offset"), depth)
    if "time_zone" in fields:
        _time_zone(fields["time_zone"], _at(path, "time_zone"), depth)


def _time_zone(value: object, path: str, depth: int) -> None:
    fields = _object(value, path, ("id", "version"))
    for key, item in fields.items():
        _string(item, _at(path, key))


def _duration(value: object, path: str, depth: int) -> None:
    if not (isinstance(value, str) and _DURATION.fullmatch(value)):
        raise BadValue(f'{path}: must be a duration such as "3.5s"')


def _items(value: object, path: str, depth: int) -> None:
    items = _list(_object(value, path, ("items",)).get("items"), _at(path, "items"))
    for index, item in enumerate(items):
        check_value(item, f"{path}.items[{index}]", depth)


def _dictionary(value: object, path: str, depth: int) -> None:
    entries = _list(_object(value, path, ("entries",)).get("entries"), _at(path, "entries"))
    for index, entry in enumerate(entries):
        where = f"{path}.entries[{index}]"
        fields = _object(entry, where, ("key", "value"))
        if "key" not in fields or "value" not in fields:
            raise BadValue(f"{where}: an entry needs a key and a value")
        _one_of(fields["key"], _at(where, "key"), depth, _HASHABLE, "a hashable value")
        check_value(fields["value"], _at(where, "value"), depth)


def _set(value: object, path: str, depth: int) -> None:
    items = _list(_object(value, path, ("items",)).get("items"), _at(path, "items"))
    seen: set[str] = set()
    for index, item in enumerate(items):
        where = f"{path}.items[{index}]"
        _one_of(item, where, depth, _HASHABLE, "a hashable value")
        canonical = json.dumps(item, sort_keys=True)
        if canonical in seen:
            raise BadValue(f"{where}: a set holds each item once")
        seen.add(canonical)


def _file(value: object, path: str, depth: int) -> None:
    fields = _object(value, path, ("remote", "inline"))
    if len(fields) != 1:
        raise BadValue(f"{path}: a file is exactly one of remote or inline")
    if "remote" in fields:
        _string(fields["remote"], _at(path, "remote"))
        return
    where = _at(path, "inline")
    inline = _object(fields["inline"], where, ("file_name", "content"))
    _string(inline.get("file_name", ""), _at(where, "file_name"))
    content = _string(inline.get("content", ""), _at(where, "content"))
    _base64(content, _at(where, "content"))


def _base64(text: str, path: str) -> None:
    if not _BASE64.fullmatch(text):
        raise BadValue(f"{path}: must be base64")
    padded = text.rstrip("=")
    padded += "=" * (-len(padded) % 4)
    try:
        base64.urlsafe_b64decode(padded.replace("+", "-").replace("/", "_"))
    except (binascii.Error, ValueError):
        raise BadValue(f"{path}: must be base64") from None


def _table(value: object, path: str, depth: int) -> None:
    fields = _object(value, path, ("remote", "inline"))
    if len(fields) != 1:
        raise BadValue(f"{path}: a table is exactly one of remote or inline")
    if "remote" in fields:
        _string(fields["remote"], _at(path, "remote"))
        return
    where = _at(path, "inline")
    columns = _list(_object(fields["inline"], where, ("columns",)).get("columns"), where)
    lengths = set()
    for index, column in enumerate(columns):
        at = f"{where}.columns[{index}]"
        spec = _object(column, at, ("values", "name"))
        _string(spec.get("name", ""), _at(at, "name"))
        cells = _list(spec.get("values"), _at(at, "values"))
        for row, cell in enumerate(cells):
            if not (isinstance(cell, dict) and len(cell) == 1 and set(cell) <= _CELLS):
                raise BadValue(f"{at}.values[{row}]: a cell holds exactly one bdkV1Value kind")
        lengths.add(len(cells))
    if len(lengths) > 1:
        raise BadValue(f"{where}: columns must have equal lengths")


_Check = Callable[[object, str, int], None]

_KINDS: dict[str, _Check] = {
    "null_value": _null,
    "bool_value": _bool,
    "number": _number,
    "text": _text,
    "date": _date,
    "timeofday": _timeofday,
    "datetime": _datetime,
    "time_zone": _time_zone,
    "duration": _duration,
    "list": _items,
    "dictionary": _dictionary,
    "file": _file,
    "table": _table,
    "set": _set,
}
_HASHABLE: dict[str, _Check] = {kind: _KINDS[kind] for kind in HASHABLE}
