"""Every spelling a secret may be echoed or leaked in, computed with the standard library,
and the scan that finds any of them in a value (errors, runs, texts).

Shared by the tests that prove a secret never shows: in errors and runs
(``test_redaction.py``), and in spans, metrics and logs (``test_observability.py``).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import html
import json
import re
import traceback
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, quote_plus

import attrs
import orjson

from runbridge import Run

SPELLINGS: dict[str, Callable[[str], str]] = {
    "as sent": lambda s: s,
    "quote": lambda s: quote(s, safe=""),
    "quote with slashes": quote,
    "quote_plus": quote_plus,
    "html": html.escape,
    "html without quotes": lambda s: html.escape(s, quote=False),
    "json": lambda s: json.dumps(s)[1:-1],
    "json, every character": lambda s: "".join(f"\\u{ord(c):04x}" for c in s),
    "json, upper-case hex": lambda s: json.dumps(s)[1:-1].replace("\\u00e9", "\\u00E9"),
    "base64": lambda s: base64.b64encode(s.encode()).decode(),
    "base64 of user:secret": lambda s: base64.b64encode(f"user:{s}".encode()).decode(),
    "urlsafe base64, unpadded": lambda s: base64.urlsafe_b64encode(s.encode()).decode().strip("="),
}

_BASE64_RUN = re.compile(r"[A-Za-z0-9+/_-]{8,}")


def _decoded_runs(text: str) -> list[bytes]:
    """Every run of base64 in ``text``, decoded at each of its four alignments."""
    out = []
    for match in _BASE64_RUN.finditer(text):
        run = match.group(0).replace("-", "+").replace("_", "/")
        for start in range(4):
            chunk = run[start:]
            chunk = chunk[: len(chunk) - len(chunk) % 4]
            with contextlib.suppress(binascii.Error, ValueError):
                out.append(base64.b64decode(chunk))
    return out


def _texts(value: Any) -> list[str]:
    if isinstance(value, BaseException):
        texts = ["".join(traceback.format_exception(value))]
        chain: list[BaseException | None] = [value]
        seen: set[int] = set()
        while chain:
            current = chain.pop()
            if current is None or id(current) in seen:
                continue
            seen.add(id(current))
            texts += [str(current), repr(current), repr(current.args)]
            for name in ("body", "message", "field"):
                texts.append(repr(getattr(current, name, None)))
            chain.extend((current.__cause__, current.__context__))
        return texts
    if isinstance(value, Run):
        return [repr(value), orjson.dumps(dict(value.raw)).decode(), repr(attrs.asdict(value))]
    return [repr(value)]


def leaks(value: Any, secret: str) -> list[str]:
    """Where ``value`` shows ``secret`` in any spelling (its first 8 characters suffice)."""
    core = secret[:8]
    found = []
    for text in _texts(value):
        for name, spell in SPELLINGS.items():
            if spell(secret) in text or spell(core) in text:
                found.append(f"{name}: ...{text[:300]}")
        if any(core.encode() in blob for blob in _decoded_runs(text)):
            found.append(f"base64 inside: ...{text[:300]}")
    return found
