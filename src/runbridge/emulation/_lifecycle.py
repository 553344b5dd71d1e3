"""Planned lifecycles: when an emulated run starts, when it ends, and in which native status.

An emulator declares its provider's documented statuses once, as ``NativeStatuses``;
the base class turns a run's ``Timeline`` into the native status of the moment.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Literal

import attrs

from .._model._run import FailureKind, HoldKind, RunStatus

Phase = Literal["pending", "running", "finished"]
Meaning = Literal["pending", "running", "succeeded", "failed", "cancelled"]
"""What a documented native status means, in canonical terms."""

_OUTCOMES = {
    "succeeded": RunStatus.SUCCEEDED,
    "failed": RunStatus.FAILED,
    "cancelled": RunStatus.CANCELLED,
    "pending": RunStatus.PENDING,
    "running": RunStatus.RUNNING,
}
_ENDS = (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED)
_STAYS = (RunStatus.PENDING, RunStatus.RUNNING)


_MEANINGS = ("pending", "running", "succeeded", "failed", "cancelled")


def outcome_of(value: RunStatus | str) -> RunStatus:
    """A plan's outcome from a ``RunStatus`` or its name; ``ValueError`` for any other."""
    status = _OUTCOMES.get(value) if isinstance(value, str) else value
    if status not in _ENDS + _STAYS:
        raise ValueError(
            "a plan ends in succeeded, failed or cancelled, or stays pending or running, "
            f"not {value!r}"
        )
    return status


def _duration(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
        raise ValueError(f"{attribute.name} must be a non-negative number of seconds")


@attrs.frozen(kw_only=True)
class Plan:
    """How an emulated run will go: time queued, time running, and the outcome.

    ``outcome`` is canonical (a ``RunStatus`` or its name); the emulator turns it
    into its provider's native status (``failure`` picks among native failure
    flavours where there are several; ``message`` is the failure's text, where
    the provider reports one). ``"pending"`` or ``"running"`` keep the run there
    until something else ends it (a cancel, ``force_status``). ``native`` ends
    the run in that native status verbatim instead, e.g. one the adapter has
    never seen.
    """

    outcome: RunStatus = attrs.field(default=RunStatus.SUCCEEDED, converter=outcome_of)
    failure: FailureKind = "task"
    queued: float = attrs.field(default=1.0, validator=_duration)
    running: float = attrs.field(default=2.0, validator=_duration)
    outputs: dict[str, Any] | None = None
    native: str | None = None
    """A native terminal status to end in verbatim, e.g. one the adapter has never seen."""
    message: str | None = None
    """The failure's text, shown where the provider documents one (else not at all)."""

    def __attrs_post_init__(self) -> None:
        if self.failure not in ("task", "system", "timeout"):
            raise ValueError(f"failure must be task, system or timeout, not {self.failure!r}")
        if self.stays and self.native is not None:
            raise ValueError(f"a plan that stays {self.outcome.value} never ends in a native")
        if self.message is not None and not isinstance(self.message, str):
            raise ValueError(f"message must be a string, not {type(self.message).__name__}")
        if self.message is not None and self.outcome is not RunStatus.FAILED and not self.native:
            raise ValueError("message is the text of a failure: give it with outcome='failed'")

    @property
    def stays(self) -> bool:
        """Whether the run never reaches an outcome on its own (it stays pending or running)."""
        return self.outcome in _STAYS


def _extra(value: object) -> Mapping[str, Meaning]:
    """``extra`` as a mapping; 0.1's empty tuple is still read as "none"."""
    if isinstance(value, Mapping):
        return value
    if isinstance(value, tuple | list) and not value:
        return {}
    raise TypeError(
        "NativeStatuses(extra=...) maps each documented status to its meaning since 0.2, "
        "e.g. extra={'partial_succeeded': 'succeeded'}: see 'Upgrading a plugin' in "
        "docs/adapter-authoring.md"
    )


@attrs.frozen(kw_only=True)
class NativeStatuses:
    """A provider's documented run statuses, and how the emulated lifecycle uses them.

    ``pending`` and ``running`` list the natives each phase passes through, in
    order, each holding an equal share of the phase. ``failed`` gives the native
    for each failure kind. ``extra`` maps documented values the clock never
    produces on its own (``partial_succeeded``, a status only a test asks for) to
    what the docs say they mean, so the conformance kit can check an adapter's
    reading of them too. ``holds`` names the documented pending or running natives
    in which a run waits for a ``person`` or is ``paused``.
    """

    pending: tuple[str, ...]
    running: tuple[str, ...]
    succeeded: str
    failed: Mapping[FailureKind, str] = attrs.field(hash=False)
    cancelled: str
    extra: Mapping[str, Meaning] = attrs.field(factory=dict, hash=False, converter=_extra)
    holds: Mapping[str, HoldKind] = attrs.field(factory=dict, hash=False)

    def __attrs_post_init__(self) -> None:
        if not self.pending or not self.running:
            raise ValueError("pending and running need at least one native status each")
        if set(self.failed) != {"task", "system", "timeout"}:
            raise ValueError("failed must give a native status for task, system and timeout")
        wrong = {k: v for k, v in self.extra.items() if v not in _MEANINGS}
        if wrong:
            raise ValueError(
                f"extra maps each status to one of {', '.join(_MEANINGS)}, not {wrong!r}"
            )
        for native, kind in self.holds.items():
            if self.meaning(native) not in ("pending", "running"):
                raise ValueError(f"holds[{native!r}]: only a pending or running status holds")
            if kind not in ("person", "paused"):
                raise ValueError(f"holds[{native!r}] must be person or paused, not {kind!r}")

    @property
    def terminal(self) -> frozenset[str]:
        """Documented natives a run does not leave."""
        finished = {k for k, v in self.extra.items() if v not in ("pending", "running")}
        return frozenset({self.succeeded, self.cancelled, *self.failed.values(), *finished})

    @property
    def documented(self) -> tuple[str, ...]:
        """Every documented native status, each once, in lifecycle order."""
        ordered = [
            *self.pending,
            *self.running,
            self.succeeded,
            *self.failed.values(),
            self.cancelled,
            *self.extra,
        ]
        return tuple(dict.fromkeys(ordered))

    def outcome(self, plan: Plan) -> str:
        """The native status a plan ends in (``ValueError`` for a plan that stays)."""
        if plan.stays:
            raise ValueError(f"a plan that stays {plan.outcome.value} ends in no status")
        if plan.native is not None:
            return plan.native
        if plan.outcome is RunStatus.SUCCEEDED:
            return self.succeeded
        if plan.outcome is RunStatus.CANCELLED:
            return self.cancelled
        return self.failed[plan.failure]

    def phase_of(self, native: str) -> Phase:
        """The phase a native status belongs to; unknown values count as finished."""
        if native in self.pending:
            return "pending"
        if native in self.running:
            return "running"
        meaning = self.extra.get(native)
        if meaning == "pending" or meaning == "running":
            return meaning
        return "finished"

    def meaning(self, native: str) -> Meaning | None:
        """What a documented native status means; ``None`` for undocumented values."""
        if native in self.extra:
            return self.extra[native]
        if native in self.pending:
            return "pending"
        if native in self.running:
            return "running"
        if native == self.succeeded:
            return "succeeded"
        if native in self.failed.values():
            return "failed"
        return "cancelled" if native == self.cancelled else None

    def at(self, timeline: Timeline, now: float) -> str:
        """The native status of a run with ``timeline`` at ``now``."""
        if timeline.pinned is not None:
            return timeline.pinned
        phase = timeline.phase(now)
        if phase == "finished":
            return self.outcome(timeline.plan)
        if phase == "pending":
            return _share(self.pending, timeline.created, timeline.starts, now)
        return _share(self.running, timeline.starts, timeline.ends, now)


def _share(natives: tuple[str, ...], start: float, end: float, now: float) -> str:
    if len(natives) == 1 or end <= start:
        return natives[0]
    index = int((now - start) / (end - start) * len(natives))
    return natives[min(max(index, 0), len(natives) - 1)]


@attrs.define
class Timeline:
    """Where a run created at ``created`` stands at a given time under its plan.

    ``pin`` fixes the run in one native status once something other than the
    clock decided it (a cancel, a status patch, a test asking for a status);
    ``restart`` begins a new attempt.
    """

    created: float
    plan: Plan
    pinned: str | None = None
    """A native status fixed by a write or a test; the clock no longer moves the run."""
    pinned_at: float | None = None
    pinned_phase: Phase | None = None
    started_override: float | None = None

    @property
    def starts(self) -> float:
        """When the run leaves the queue under its plan (never, for a plan staying pending)."""
        if self.plan.outcome is RunStatus.PENDING:
            return math.inf
        return self.created + self.plan.queued

    @property
    def ends(self) -> float:
        """When the run reaches its planned outcome (never, for a plan that stays)."""
        if self.plan.stays:
            return math.inf
        return self.starts + self.plan.running

    def phase(self, now: float) -> Phase:
        """``pending``, ``running`` or ``finished`` at ``now``."""
        if self.pinned_phase is not None:
            return self.pinned_phase
        if now < self.starts:
            return "pending"
        if now < self.ends:
            return "running"
        return "finished"

    def started_at(self, now: float) -> float | None:
        """When the run started, if it has."""
        if self.pinned_phase == "pending":
            return None
        if self.started_override is not None:
            return self.started_override
        if self.pinned_phase is not None:
            return self.starts if (self.pinned_at or 0) >= self.starts else None
        return self.starts if now >= self.starts else None

    def finished_at(self, now: float) -> float | None:
        """When the run finished, if it has."""
        if self.pinned_phase is not None:
            return self.pinned_at if self.pinned_phase == "finished" else None
        return self.ends if now >= self.ends else None

    def pin(self, native: str, phase: Phase, now: float) -> None:
        """Fix the run at ``native`` (in ``phase``) from ``now`` on, keeping what happened.

        A run pinned to a running status that had not started yet starts now; one
        pinned back to pending forgets its start.
        """
        started = self.started_at(now)
        self.pinned, self.pinned_phase = native, phase
        if phase == "pending":
            self.started_override = None
            self.pinned_at = now
            return
        if phase == "finished" and self.finished_at(now) is not None:
            self.pinned_at = self.finished_at(now)
        else:
            self.pinned_at = now
        if phase == "running" and started is None:
            self.started_override = now
        elif started is not None:
            self.started_override = started

    def force(self, native: str, now: float) -> None:
        """Pin the run to a terminal native status from now on."""
        self.pinned = self.pinned_phase = self.pinned_at = None
        self.pin(native, "finished", now)

    def restart(self, now: float, plan: Plan) -> None:
        """Begin again from the queue (an in-place retry)."""
        self.created, self.plan = now, plan
        self.pinned = self.pinned_at = self.pinned_phase = self.started_override = None
