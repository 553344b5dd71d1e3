"""Redaction of credentials and sensitive inputs from bodies, texts and logs."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

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


class Redactor:
    """Masks known secret values and sensitive keys; immutable once built."""

    __slots__ = ("_secrets",)

    def __init__(self, secrets: Iterable[Any] = ()) -> None:
        found = {s for v in secrets for s in _leaves(v) if len(s) >= _MIN_SECRET_LEN}
        # Longest first, so a secret that contains another is masked whole.
        self._secrets = tuple(sorted(found, key=len, reverse=True))

    def __repr__(self) -> str:
        return f"Redactor(<{len(self._secrets)} secrets>)"

    def extend(self, secrets: Iterable[Any]) -> Redactor:
        """A redactor that also masks ``secrets``."""
        return Redactor((*self._secrets, *secrets))

    def text(self, text: str) -> str:
        """``text`` with every known secret replaced by a mask."""
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return text

    def body(self, value: Any) -> Any:
        """A copy of a decoded JSON body with sensitive keys and secret values masked."""
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
        return value
