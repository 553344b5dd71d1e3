"""The canonical run: its status, its reference and the frozen ``Run``, with the private
constructors the read path builds them with from parts it has already checked."""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

import attrs

from ._errors import InvalidRequest
from ._payload import RawPayload

_PROVIDER_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")

FailureKind = Literal["task", "system", "timeout"]
"""Why a run failed: the task itself, the provider's infrastructure, or a time limit."""


class RunStatus(enum.Enum):
    """Canonical lifecycle status of a run."""

    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    UNKNOWN = "unknown"

    @property
    def is_terminal(self) -> bool:
        """Whether the run has finished and will not change without a retry."""
        return self in _TERMINAL

    @classmethod
    def parse(cls, value: str | RunStatus) -> RunStatus:
        """Parse a canonical status name; anything unrecognised is ``UNKNOWN``."""
        if isinstance(value, RunStatus):
            return value
        return _BY_VALUE.get(value, cls.UNKNOWN)

    def __str__(self) -> str:
        return self.value


_TERMINAL = frozenset({RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED})
_BY_VALUE = {s.value: s for s in RunStatus}
TERMINAL: frozenset[RunStatus] = _TERMINAL
"""The statuses a run does not leave on its own."""


_CHECKED_PROVIDERS: set[str] = set()


def _check_provider(_: object, __: attrs.Attribute[str], value: str) -> None:
    if value in _CHECKED_PROVIDERS:  # a handful of names, checked once each
        return
    if not (isinstance(value, str) and _PROVIDER_NAME.match(value)):
        raise InvalidRequest(
            f"provider name {value!r} must match {_PROVIDER_NAME.pattern}", field="provider"
        )
    _CHECKED_PROVIDERS.add(value)


def _check_id(_: object, __: attrs.Attribute[str], value: str) -> None:
    if not value:
        raise InvalidRequest("run id must not be empty", field="id")


@attrs.frozen(order=True)
class RunRef:
    """A provider-qualified run identifier; ``str()`` gives ``"provider:id"``.

    The id is checked against the provider's id format by the client before it is
    used in any request; constructing a ref only checks the shape.
    """

    provider: str = attrs.field(validator=_check_provider)
    id: str = attrs.field(validator=_check_id)

    @classmethod
    def parse(cls, text: str) -> RunRef:
        """Parse ``"provider:id"`` as produced by ``str(ref)``."""
        provider, sep, run_id = text.partition(":")
        if not sep:
            raise InvalidRequest(
                f"run reference {text!r} must look like 'provider:id'", field="ref"
            )
        return cls(provider, run_id)

    def __str__(self) -> str:
        return f"{self.provider}:{self.id}"


@attrs.frozen
class Failure:
    """Why a failed run failed."""

    kind: FailureKind
    message: str | None = None
    code: str | None = None


HoldKind = Literal["person", "paused"]
"""Why an unfinished run waits: for a ``person`` (a task, guidance, an approval), or
``paused`` (stopped by someone, to be resumed)."""

HOLD_KINDS: tuple[HoldKind, ...] = ("person", "paused")


@attrs.frozen
class Hold:
    """An unfinished run that will not move on its own: it waits for a person, or is
    paused. ``reason`` is the provider's text, when it gives one."""

    kind: HoldKind
    reason: str | None = None

    def describe(self) -> str:
        """``waiting for a person`` or ``paused``, with the reason."""
        what = "waiting for a person" if self.kind == "person" else "paused"
        return f"{what}: {self.reason}" if self.reason else what


@attrs.frozen
class Progress:
    """How far a run has got, in the provider's own units (steps, nodes, items)."""

    completed: int
    total: int | None = None


def _same_payload(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    return _plain(a) == _plain(b)


def _plain(value: Mapping[str, Any]) -> Mapping[str, Any]:
    return value.mapping() if isinstance(value, RawPayload) else value


@attrs.frozen(kw_only=True, slots=False)
class Run:
    """A run in canonical form; ``raw`` keeps the provider payload untouched."""

    # Not slotted: a frozen class with a ``__dict__`` is filled by writing its dict, which
    # costs a fraction of one ``object.__setattr__`` per field (``new_run`` relies on it).

    ref: RunRef
    status: RunStatus
    native_status: str | None = None
    target: str | None = None
    name: str | None = None
    inputs: Mapping[str, Any] = attrs.field(factory=dict, hash=False)
    outputs: Mapping[str, Any] | None = attrs.field(default=None, hash=False)
    failure: Failure | None = None
    created_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    cost: Decimal | None = None
    progress: Progress | None = None
    hold: Hold | None = None
    """Set while the run (pending or running) waits for a person or is paused."""
    _raw: Mapping[str, Any] = attrs.field(
        factory=dict,
        alias="raw",
        repr=False,
        hash=False,
        eq=attrs.cmp_using(eq=_same_payload, require_same_type=False),
    )

    @property
    def raw(self) -> Mapping[str, Any]:
        """The provider's payload, untouched; a run read from a response decodes it from
        the response bytes on first access (a listing that never reads it never pays)."""
        raw = self._raw
        if type(raw) is not dict and isinstance(raw, RawPayload):
            raw = raw.mapping()
            object.__setattr__(self, "_raw", raw)
        return raw

    @property
    def provider(self) -> str:
        """The provider this run lives on."""
        return self.ref.provider

    @property
    def id(self) -> str:
        """The provider's id for this run."""
        return self.ref.id

    @property
    def duration(self) -> float | None:
        """Seconds from start to finish, when both are known."""
        if self.started_at is None or self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()


# -- the read path's constructors: parts already checked, nothing checked again ---------

_new = object.__new__


def new_ref(provider: str, run_id: str) -> RunRef:
    """``RunRef(provider, run_id)`` for an id the caller has just checked against the
    provider's id format: the validators run only for a provider name not yet checked
    and for an empty id (so their errors stay those of ``RunRef``)."""
    if not run_id or provider not in _CHECKED_PROVIDERS:
        return RunRef(provider, run_id)
    ref = _new(RunRef)
    _set_provider(ref, provider)
    _set_id(ref, run_id)
    return ref


_set_provider = RunRef.provider.__set__  # type: ignore[attr-defined]  # slot descriptors
_set_id = RunRef.id.__set__  # type: ignore[attr-defined]


def new_run(
    ref: RunRef,
    status: RunStatus,
    *,
    native_status: str | None = None,
    target: str | None = None,
    name: str | None = None,
    inputs: Mapping[str, Any] | None = None,
    outputs: Mapping[str, Any] | None = None,
    failure: Failure | None = None,
    created_at: datetime | None = None,
    started_at: datetime | None = None,
    finished_at: datetime | None = None,
    cost: Decimal | None = None,
    progress: Progress | None = None,
    hold: Hold | None = None,
    raw: Mapping[str, Any] | None = None,
) -> Run:
    """``Run(...)`` from parts of the types its fields declare (``inputs`` and ``raw``
    default to a new empty dict), written straight into the instance: what the
    attrs-generated ``__init__`` does, without its per-call argument handling.

    For runbridge's own read path (adapters' ``run_from``); the result is a ``Run``
    like any other: equal, hashed, pickled, evolved and shown exactly alike.
    """
    run = _new(Run)
    fields = run.__dict__
    fields["ref"] = ref
    fields["status"] = status
    fields["native_status"] = native_status
    fields["target"] = target
    fields["name"] = name
    fields["inputs"] = {} if inputs is None else inputs
    fields["outputs"] = outputs
    fields["failure"] = failure
    fields["created_at"] = created_at
    fields["started_at"] = started_at
    fields["finished_at"] = finished_at
    fields["cost"] = cost
    fields["progress"] = progress
    fields["hold"] = hold
    fields["_raw"] = {} if raw is None else raw
    return run


def held(run: Run, hold: Hold) -> Run:
    """``attrs.evolve(run, hold=hold)``, from fields already in a ``Run``."""
    copy = _new(type(run))
    fields = copy.__dict__
    fields.update(run.__dict__)
    fields["hold"] = hold
    return copy
