"""Redaction of credentials and sensitive inputs from bodies, texts and logs.

A provider may echo a secret in another spelling than it was sent in: URL-encoded,
HTML-escaped, JSON-escaped, base64, or a string of digits as a JSON number. Each
secret is masked in every one of those spellings.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

import orjson

MASK = "***"

SENSITIVE_KEYS = frozenset(
    {
        "authorization",
        "x-api-key",
        "api_key",
        "apikey",
        "token",
        "access_token",
        "password",
        "secret",
        "secrets",
        "sensitive_input_values",
        "shared_sensitive_inputs",
        "sensitive_inputs",
    }
)
"""Keys whose values are masked wherever they appear in a body (compared lower-case)."""

_MIN_SECRET_LEN = 3

_MIN_INNER_LEN = 8
"""Secrets at least this long are masked inside the strings of a success payload; shorter
ones (a PIN) only where a whole value equals them, so that ids and timestamps that happen
to contain them survive."""

_MIN_BASE64_LEN = 8
"""Shortest base64 spelling worth masking: shorter runs of base64 occur by chance."""

_PERCENT = re.compile(r"%[0-9A-F]{2}")
_INTEGER = re.compile(r"-?[1-9][0-9]*")
_DECIMAL = re.compile(r"-?(0|[1-9][0-9]*)\.[0-9]*[1-9]")


def _leaves(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for v in value.values():
            yield from _leaves(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from _leaves(v)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        yield str(value)


def _utf16_escapes(text: str, fmt: str) -> str:
    units = text.encode("utf-16-be")
    return "".join(fmt % int.from_bytes(units[i : i + 2], "big") for i in range(0, len(units), 2))


def _base64_cores(secret: bytes) -> set[str]:
    """The base64 text every encoding of a blob containing ``secret`` contains, whatever
    the secret's offset in it: one core per alignment, without the characters that also
    depend on the bytes around it."""
    import base64

    cores: set[str] = set()
    for offset in range(3):
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            encoded = encode(b"\0" * offset + secret).decode()
            core = encoded[-(-8 * offset // 6) : (8 * offset + 8 * len(secret)) // 6]
            if len(core) >= _MIN_BASE64_LEN:
                cores.add(core)
    return cores


def spellings(secret: str) -> frozenset[str]:
    """``secret`` as a provider might echo it: as sent, URL-encoded, HTML-escaped,
    JSON-escaped (``\\uXXXX`` forms included) and base64-encoded."""
    # Imported here: spellings are worked out on a redactor's first use, not at import.
    import html
    import json
    from urllib.parse import quote, quote_plus

    try:
        raw = secret.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: no encoder would send it
        return frozenset({secret})
    found = {
        secret,
        quote(secret, safe=""),
        quote(secret),
        quote_plus(secret),
        quote_plus(secret, safe="/"),
        "".join(f"%{b:02X}" for b in raw),
        html.escape(secret),
        html.escape(secret, quote=False),
        "".join(f"&#{ord(c)};" for c in secret),
        "".join(f"&#x{ord(c):x};" for c in secret),
        json.dumps(secret)[1:-1],
        _utf16_escapes(secret, "\\u%04x"),
        _utf16_escapes(secret, "\\u%04X"),
        orjson.dumps(secret).decode()[1:-1],
    }
    for text in list(found):
        found.add(_PERCENT.sub(lambda m: m.group(0).lower(), text))
        found.add(text.replace("&#x27;", "&#39;").replace("&quot;", "&#34;"))
        found.add(text.replace("&#x27;", "&apos;"))
    for text in list(found):
        if "\\u" in text:
            found.add(re.sub(r"\\u([0-9a-f]{4})", lambda m: "\\u" + m.group(1).upper(), text))
    for text in list(found):
        found.add(text.replace("/", "\\/"))
        go = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
        found.add(go)
    found |= _base64_cores(raw)
    return frozenset(s for s in found if len(s) >= _MIN_SECRET_LEN)


_MARKERS = (b"\\", b"&", b"%")
"""Bytes that every escaped spelling contains (``\\u``, ``&#``, ``%``): a body without one
skips those spellings after one ``memchr``-fast pass."""

_RARE = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ!#$'()*+;<=>?@^`|~"
"""Bytes seldom seen in JSON keys, ids, timestamps and numbers: a plain spelling that holds
one is looked for only when that byte occurs in the body (a ``memchr``-fast test)."""

_PRUNE_LIMIT = 400
"""Most spellings worth pruning pairwise (the pruning is quadratic; it only saves scans)."""

Needle = tuple[bytes, bytes | None]
"""A spelling to look for, and a single byte it holds that makes a cheap first test."""


def _scan_plan(
    spelled: Iterable[str],
) -> tuple[tuple[Needle, ...], tuple[tuple[bytes, tuple[bytes, ...]], ...]]:
    """What ``seen_in`` looks for: the spellings as bytes, plain ones apart (with a rare
    byte each holds, when one does), and the others grouped under a marker each contains.

    A spelling that contains another is dropped: a body holding it holds the shorter
    one too (most spellings of ``Bearer <token>`` hold a spelling of ``<token>``).
    """
    needles = sorted({s.encode("utf-8", "surrogatepass") for s in spelled}, key=len)
    if len(needles) <= _PRUNE_LIMIT:
        kept: list[bytes] = []
        for needle in needles:
            if not any(shorter in needle for shorter in kept):
                kept.append(needle)
        needles = kept
    plain: list[Needle] = []
    groups: dict[bytes, list[bytes]] = {}
    for needle in needles:
        marker = next((m for m in _MARKERS if m in needle), None)
        if marker is None:
            probe = next((bytes([b]) for b in _RARE if b in needle), None)
            plain.append((needle, probe))
        else:
            groups.setdefault(marker, []).append(needle)
    return tuple(plain), tuple((marker, tuple(group)) for marker, group in groups.items())


def _number(secret: str) -> int | float | None:
    """The JSON number ``secret`` reads as, when it is written as one."""
    if _INTEGER.fullmatch(secret):
        return int(secret)
    if _DECIMAL.fullmatch(secret):
        value = float(secret)
        return value if math.isfinite(value) else None
    return None


class Redactor:
    """Masks known secret values (in every spelling) and sensitive keys; immutable once built."""

    __slots__ = (
        "_grouped",
        "_inner",
        "_numbers",
        "_parent",
        "_plain",
        "_secrets",
        "_spelled",
        "_spellings",
        "_whole",
    )

    def __init__(self, secrets: Iterable[Any] = ()) -> None:
        found = {s for v in secrets for s in _leaves(v) if len(s) >= _MIN_SECRET_LEN}
        # Longest first, so a secret that contains another is masked whole.
        self._secrets = tuple(sorted(found, key=len, reverse=True))
        self._spelled = False  # the spellings are worked out on first use
        self._spellings: dict[str, frozenset[str]] = {}
        self._parent: Redactor | None = None

    def __repr__(self) -> str:
        return f"Redactor(<{len(self._secrets)} secrets>)"

    def extend(self, secrets: Iterable[Any]) -> Redactor:
        """A redactor that also masks ``secrets``."""
        child = Redactor((*self._secrets, *secrets))
        child._parent = self  # reuses the spellings this one has worked out
        return child

    def _spell(self) -> None:
        every: set[str] = set()
        inner: set[str] = set()
        numbers: set[int | float] = set()
        known = self._parent._spellings if self._parent is not None else {}
        for secret in self._secrets:
            spelled = known.get(secret) or spellings(secret)
            self._spellings[secret] = spelled
            every |= spelled
            if len(secret) >= _MIN_INNER_LEN:
                inner |= spelled
            if (number := _number(secret)) is not None:
                numbers.add(number)
        by_length = sorted(every, key=len, reverse=True)
        self._whole: tuple[str, ...] = tuple(by_length)
        self._inner: tuple[str, ...] = tuple(s for s in by_length if s in inner)
        self._numbers: frozenset[int | float] = frozenset(numbers)
        self._plain, self._grouped = _scan_plan(every)
        self._spelled = True

    def seen_in(self, data: bytes | bytearray) -> bool:
        """Whether any spelling of a secret occurs in ``data`` (a raw response body)."""
        if not self._secrets:
            return False
        if not self._spelled:
            self._spell()
        # Every response body is scanned: as few passes over it as can be.
        for needle, probe in self._plain:
            # A single byte is found at memchr speed; a long needle in text made of the
            # same characters (hex ids, say) is found several times slower.
            if (probe is None or probe in data) and needle in data:
                return True
        for marker, group in self._grouped:
            if marker in data:
                for needle in group:
                    if needle in data:
                        return True
        return False

    def text(self, text: str) -> str:
        """``text`` with every spelling of every known secret replaced by a mask."""
        if not self._secrets:
            return text
        if not self._spelled:
            self._spell()
        for spelling in self._whole:
            if spelling in text:
                text = text.replace(spelling, MASK)
        return text

    def body(self, value: Any) -> Any:
        """A copy of a decoded JSON error body with sensitive keys and secret values masked."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {
                self.text(str(k)): (MASK if str(k).lower() in SENSITIVE_KEYS else self.body(v))
                for k, v in value.items()
            }
        if isinstance(value, list | tuple):
            return [self.body(v) for v in value]
        if isinstance(value, bytes):
            return self.text(value.decode("utf-8", "replace"))
        if self._is_secret_number(value):
            return MASK
        return value

    def payload(self, value: Any) -> Any:
        """A copy of a decoded success payload with the secrets it echoes masked.

        Unlike ``body``, keys that merely sound sensitive are kept, and a short secret
        is masked only where a whole value equals it: a payload is read for its data.
        """
        if not self._spelled:
            self._spell()
        return self._payload(value)

    def _payload(self, value: Any) -> Any:
        if isinstance(value, str):
            return self._string(value)
        if isinstance(value, Mapping):
            return {self._string(str(k)): self._payload(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self._payload(v) for v in value]
        if self._is_secret_number(value):
            return MASK
        return value

    def _string(self, text: str) -> str:
        if text in self._whole:
            return MASK
        for spelling in self._inner:
            if spelling in text:
                text = text.replace(spelling, MASK)
        return text

    def _is_secret_number(self, value: Any) -> bool:
        if not isinstance(value, int | float) or isinstance(value, bool) or not self._secrets:
            return False
        if not self._spelled:
            self._spell()
        return value in self._numbers
