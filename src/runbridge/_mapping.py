"""Mappings an adapter declares as data: native statuses and error responses."""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from ._errors import (
    AuthError,
    Conflict,
    InvalidRequest,
    NotFound,
    ProviderUnavailable,
    RateLimited,
    ResponseError,
    RunbridgeError,
)
from ._model import FailureKind, RunStatus


@attrs.frozen
class ErrorInfo:
    """What an adapter could read out of an error body."""

    message: str | None = None
    code: str | None = None
    field: str | None = None


def _default_for(status: int) -> type[RunbridgeError]:
    if status in (401, 403):
        return AuthError
    if status == 404:
        return NotFound
    if status == 409:
        return Conflict
    if status in (400, 422):
        return InvalidRequest
    if status == 429:
        return RateLimited
    if status == 408 or status >= 500:
        return ProviderUnavailable
    return ResponseError


@attrs.frozen
class ErrorMap:
    """An adapter's error mapping as data: provider codes first, then HTTP statuses.

    Anything not listed falls back to the usual meaning of the status
    (401/403 auth, 404 not found, 409 conflict, 400/422 invalid, 429 rate
    limited, 5xx unavailable, other statuses not understood).
    """

    statuses: Mapping[int, type[RunbridgeError]] = attrs.field(factory=dict, hash=False)
    codes: Mapping[str, type[RunbridgeError]] = attrs.field(factory=dict, hash=False)

    def __attrs_post_init__(self) -> None:
        restated = sorted(s for s, cls in self.statuses.items() if _default_for(s) is cls)
        if restated:
            raise ValueError(
                f"ErrorMap lists only deviations from the defaults; HTTP {restated[0]} "
                f"already means {_default_for(restated[0]).__name__}"
            )

    def error_for(self, status: int, code: str | None) -> type[RunbridgeError]:
        """The error class for a response with this status and provider code."""
        if code is not None and code in self.codes:
            return self.codes[code]
        return self.statuses.get(status) or _default_for(status)


@attrs.frozen
class StatusMap:
    """Native status values to canonical ones; unknown values become ``UNKNOWN``.

    ``failures`` says which kind of failure (``task``, ``system``, ``timeout``)
    each native value that means ``FAILED`` reports; unlisted ones are ``task``.
    The conformance kit drives an emulator to every value and checks both.
    """

    to_canonical: Mapping[str, RunStatus] = attrs.field(hash=False)
    failures: Mapping[str, FailureKind] = attrs.field(factory=dict, hash=False)
    native_for: Mapping[RunStatus, tuple[str, ...]] = attrs.field(init=False, hash=False)

    def __attrs_post_init__(self) -> None:
        for native, kind in self.failures.items():
            if self.to_canonical.get(native) is not RunStatus.FAILED:
                raise ValueError(f"failures[{native!r}]: {native!r} does not mean failed")
            if kind not in ("task", "system", "timeout"):
                raise ValueError(f"failures[{native!r}] must be task, system or timeout")

    def failure_kind(self, native: str) -> FailureKind:
        """The failure kind a failed native value reports."""
        return self.failures.get(native, "task")

    @native_for.default
    def _invert(self) -> Mapping[RunStatus, tuple[str, ...]]:
        out: dict[RunStatus, list[str]] = {}
        for native, canonical in self.to_canonical.items():
            out.setdefault(canonical, []).append(native)
        return {k: tuple(v) for k, v in out.items()}

    def canonical(self, native: object) -> RunStatus:
        """The canonical status for a native value; never raises."""
        if isinstance(native, str):
            return self.to_canonical.get(native, RunStatus.UNKNOWN)
        return RunStatus.UNKNOWN

    def natives(self, status: RunStatus) -> tuple[str, ...]:
        """Every native value that maps to ``status``."""
        return self.native_for.get(status, ())
