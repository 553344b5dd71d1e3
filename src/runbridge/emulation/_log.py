"""The request log every emulator keeps: what arrived, with secrets masked."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import attrs

MASK = "***"

SECRET_HEADERS = frozenset({"authorization", "x-api-key", "proxy-authorization", "cookie"})
"""Headers whose values the log never keeps."""


@attrs.frozen
class LoggedRequest:
    """A request as an emulator received it: secrets in headers and body are masked.

    ``body`` is the decoded JSON (or the text, when it is not JSON; ``None`` when empty).
    """

    method: str
    path: str
    query: tuple[tuple[str, str], ...]
    headers: Mapping[str, str] = attrs.field(hash=False)
    body: Any = attrs.field(hash=False)
    operation: str | None = None
    """What the request asked for, in the emulator's words (``create``, ``get``,
    ``list``...); ``None`` when no route took it."""

    def param(self, name: str) -> str | None:
        """The first value of query parameter ``name``."""
        return next((value for key, value in self.query if key == name), None)

    def params(self, name: str) -> list[str]:
        """Every value of query parameter ``name``, in order."""
        return [value for key, value in self.query if key == name]

    def header(self, name: str) -> str | None:
        """A header's value (masked if it is a credential); names are case-insensitive."""
        return self.headers.get(name.lower())


@attrs.frozen(kw_only=True)
class CreatedRun:
    """A run the emulator created through its API, as the application asked for it.

    ``target`` is in the form of the emulator's ``default_target``; ``inputs``
    are the run's inputs as a mapping; ``name`` is the provider's own run name,
    where it has one; ``options`` holds the other fields the create sent, in the
    provider's words. Sensitive inputs appear only as names in ``secrets``.
    """

    id: str
    target: str
    inputs: Mapping[str, Any] = attrs.field(factory=dict, hash=False)
    name: str | None = None
    options: Mapping[str, Any] = attrs.field(factory=dict, hash=False)
    secrets: tuple[str, ...] = ()


def mask_headers(headers: Iterable[tuple[str, str]], secrets: Iterable[str]) -> dict[str, str]:
    """Headers with lower-cased names; credentials and any value holding a secret masked."""
    known = [s for s in secrets if s]
    out: dict[str, str] = {}
    for name, value in headers:
        lower = name.lower()
        hidden = lower in SECRET_HEADERS or any(s in value for s in known)
        out[lower] = MASK if hidden else value
    return out


def mask_body(value: Any, keys: frozenset[str]) -> Any:
    """A decoded JSON body with the values under ``keys`` masked, at any depth.

    A masked mapping keeps its keys (``{"password": "***"}``), so a test can see
    which secrets were sent without seeing them.
    """
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if key in keys:
                out[key] = dict.fromkeys(item, MASK) if isinstance(item, Mapping) else MASK
            else:
                out[key] = mask_body(item, keys)
        return out
    if isinstance(value, list):
        return [mask_body(item, keys) for item in value]
    return value
