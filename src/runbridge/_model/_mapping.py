"""Mappings an adapter declares as data: native statuses and error responses."""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from ._canonical import HOLD_KINDS, FailureKind, HoldKind, RunStatus
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

# A module constant: on Python 3.11 reading an enum member off its class costs several
# times a plain attribute, and ``canonical`` returns this one for every unknown value.
_UNKNOWN = RunStatus.UNKNOWN


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


def fold(native: str) -> str:
    """A native status spelled loosely: lower case, without ``_``, ``-``, ``.`` or spaces."""
    return native.lower().translate(_SEPARATORS)


_SEPARATORS = str.maketrans("", "", "_-. ")


@attrs.frozen
class StatusMap:
    """Native status values to canonical ones; unknown values become ``UNKNOWN``.

    ``failures`` says which kind of failure (``task``, ``system``, ``timeout``)
    each native value that means ``FAILED`` reports; unlisted ones are ``task``.
    ``holds`` names the natives (pending or running ones) in which a run waits for a
    ``person`` or is ``paused``: the core sets ``Run.hold`` for them. With ``loose``,
    a value the map lacks is looked up again ignoring case and separators
    (``COMPLETED``, ``awaiting-guidance``), for providers whose vocabulary allows it.
    The conformance kit drives an emulator to every value and checks all of it.
    """

    to_canonical: Mapping[str, RunStatus] = attrs.field(hash=False)
    failures: Mapping[str, FailureKind] = attrs.field(factory=dict, hash=False)
    holds: Mapping[str, HoldKind] = attrs.field(factory=dict, hash=False)
    loose: bool = False
    native_for: Mapping[RunStatus, tuple[str, ...]] = attrs.field(init=False, hash=False)
    _folded: Mapping[str, str] = attrs.field(init=False, hash=False, repr=False)

    def __attrs_post_init__(self) -> None:
        for native, kind in self.failures.items():
            if self.to_canonical.get(native) is not RunStatus.FAILED:
                raise ValueError(f"failures[{native!r}]: {native!r} does not mean failed")
            if kind not in ("task", "system", "timeout"):
                raise ValueError(f"failures[{native!r}] must be task, system or timeout")
        for native, hold in self.holds.items():
            if self.to_canonical.get(native) not in (RunStatus.PENDING, RunStatus.RUNNING):
                raise ValueError(f"holds[{native!r}]: only a pending or running run is held")
            if hold not in HOLD_KINDS:
                raise ValueError(f"holds[{native!r}] must be {' or '.join(HOLD_KINDS)}")
        folded: dict[str, str] = {}
        if self.loose:
            for native, canonical in self.to_canonical.items():
                other = folded.setdefault(fold(native), native)
                if self.to_canonical[other] is not canonical:
                    raise ValueError(
                        f"{other!r} and {native!r} are one loose spelling with two meanings"
                    )
        object.__setattr__(self, "_folded", folded)

    @native_for.default
    def _invert(self) -> Mapping[RunStatus, tuple[str, ...]]:
        out: dict[RunStatus, list[str]] = {}
        for native, canonical in self.to_canonical.items():
            out.setdefault(canonical, []).append(native)
        return {k: tuple(v) for k, v in out.items()}

    def declared(self, native: object) -> str | None:
        """The spelling the map declares for ``native`` (itself, or its loose match)."""
        if not isinstance(native, str):
            return None
        if native in self.to_canonical:
            return native
        return self._folded.get(fold(native)) if self._folded else None

    def canonical(self, native: object) -> RunStatus:
        """The canonical status for a native value; never raises."""
        if isinstance(native, str):
            found = self.to_canonical.get(native)
            if found is not None:
                return found
            if self._folded and (spelled := self._folded.get(fold(native))) is not None:
                return self.to_canonical[spelled]
        return _UNKNOWN

    def failure_kind(self, native: str) -> FailureKind:
        """The failure kind a failed native value reports."""
        return self.failures.get(self.declared(native) or native, "task")

    def hold_kind(self, native: object) -> HoldKind | None:
        """``person`` or ``paused`` when a run in ``native`` is held, else ``None``."""
        if not self.holds:
            return None
        spelled = self.declared(native)
        return self.holds.get(spelled) if spelled is not None else None

    def natives(self, status: RunStatus) -> tuple[str, ...]:
        """Every native value that maps to ``status``."""
        return self.native_for.get(status, ())
