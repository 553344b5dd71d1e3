"""Timestamps as the API writes them: RFC 3339 in UTC with ``Z``, as protojson prints a
``google.protobuf.Timestamp`` (0, 3, 6 or 9 fractional digits), kept as integer
nanoseconds so that a filter compares exactly what a client was shown."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SECOND = 1_000_000_000
_RFC3339 = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)[Tt](\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d\d):(\d\d))"
)


def nanos(seconds: float) -> int:
    """Emulator seconds as nanoseconds since the epoch, to the microsecond."""
    return round(seconds * 1_000_000) * 1000


def rfc3339(ns: int) -> str:
    """``2024-01-01T00:00:00Z``, ``...00.120Z``, ``...00.123456Z`` or nine digits."""
    whole, fraction = divmod(ns, _SECOND)
    text = (_EPOCH + timedelta(seconds=whole)).replace(tzinfo=None).isoformat()
    if fraction:
        digits = f"{fraction:09d}"
        for size in (3, 6):
            if digits[size:] == "0" * (9 - size):
                digits = digits[:size]
                break
        text += "." + digits
    return text + "Z"


def parse_rfc3339(text: str) -> int | None:
    """Nanoseconds since the epoch of an RFC 3339 timestamp; ``None`` when it is not one."""
    match = _RFC3339.fullmatch(text)
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    try:
        moment = datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError:
        return None
    fraction = int((match.group(7) or "").ljust(9, "0"))
    offset = 0
    if match.group(8) is None:
        hours, minutes = int(match.group(10)), int(match.group(11))
        if hours > 23 or minutes > 59:
            return None
        offset = (hours * 60 + minutes) * 60 * (-1 if match.group(9) == "-" else 1)
    whole = (moment - _EPOCH) // timedelta(seconds=1) - offset
    return whole * _SECOND + fraction
