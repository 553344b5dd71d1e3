"""Planned lifecycles: when an emulated run starts, when it ends, and how."""

from __future__ import annotations

from typing import Any, Literal

import attrs

from .._model import FailureKind, RunStatus

Phase = Literal["pending", "running", "finished"]


@attrs.frozen(kw_only=True)
class Plan:
    """How an emulated run will go: time queued, time running, and the outcome.

    ``outcome`` is canonical; each emulator turns it into its provider's native
    status (``failure`` picks among native failure flavours where there are several).
    """

    outcome: RunStatus = RunStatus.SUCCEEDED
    failure: FailureKind = "task"
    queued: float = 1.0
    running: float = 2.0
    outputs: dict[str, Any] | None = None
    native: str | None = None
    """A native terminal status to end in verbatim, e.g. one the adapter has never seen."""

    def __attrs_post_init__(self) -> None:
        if self.outcome not in (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED):
            raise ValueError(f"a plan ends in succeeded, failed or cancelled, not {self.outcome}")
        if self.queued < 0 or self.running < 0:
            raise ValueError("durations must not be negative")


@attrs.define
class Timeline:
    """Where a run created at ``created`` stands at a given time under its plan.

    ``ended`` and ``forced`` pin the run once something other than the clock
    decided its fate (a cancel, a status patch); ``restart`` begins a new attempt.
    """

    created: float
    plan: Plan
    forced: str | None = None
    forced_at: float | None = None
    started_override: float | None = None

    @property
    def starts(self) -> float:
        """When the run leaves the queue."""
        return self.created + self.plan.queued

    @property
    def ends(self) -> float:
        """When the run reaches its planned outcome."""
        return self.starts + self.plan.running

    def phase(self, now: float) -> Phase:
        """``pending``, ``running`` or ``finished`` at ``now``."""
        if self.forced is not None:
            return "finished"
        if now < self.starts:
            return "pending"
        if now < self.ends:
            return "running"
        return "finished"

    def started_at(self, now: float) -> float | None:
        """When the run started, if it has."""
        if self.started_override is not None:
            return self.started_override
        if self.forced is not None:
            return self.starts if (self.forced_at or 0) >= self.starts else None
        return self.starts if now >= self.starts else None

    def finished_at(self, now: float) -> float | None:
        """When the run finished, if it has."""
        if self.forced is not None:
            return self.forced_at
        return self.ends if now >= self.ends else None

    def force(self, native: str, now: float) -> None:
        """Pin the run to a terminal native status from now on."""
        self.forced, self.forced_at = native, now

    def restart(self, now: float, plan: Plan) -> None:
        """Begin again from the queue (an in-place retry)."""
        self.created, self.plan = now, plan
        self.forced = self.forced_at = self.started_override = None
