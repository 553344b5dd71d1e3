"""What the emulator keeps of a run, and where its lifecycle stands at a given time.

A run follows its plan's ``Timeline`` (``pending``, ``executing``, then the outcome)
on the emulator clock, shifted later by the time it spent stopped. ``:pause`` moves
it to ``stopping`` and, ``stop_seconds`` later, to ``stopped``; ``:continue`` puts
it back to ``executing`` with its remaining work ahead of it. ``force_status`` pins
it in a state the clock no longer moves (the ``Timeline``'s pin).
"""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass, field
from typing import Any

from runbridge.emulation import NativeStatuses, Phase, Timeline

from ._facts import EXECUTING, STOPPED, STOPPING


@dataclass(frozen=True)
class Stop:
    """A pause: asked for at ``at`` with ``reason``, when the plan stood at ``plan_at``."""

    at: float
    reason: str
    plan_at: float


@dataclass(eq=False)
class StoredRun:
    """A run as the emulator keeps it: what the invoke sent, and its lifecycle."""

    id: str
    """The bare run id, the last segment of ``name``."""
    automation: str
    """``organizations/{o}/workspaces/{w}/automations/{a}``."""
    seq: int
    created_ns: int
    stage: str
    stage_version: str
    user_inputs: dict[str, Any]
    """The inputs exactly as the invoke sent them (``{name: Value}``)."""
    user_id: str
    timeline: Timeline
    shift: float = 0.0
    """Seconds the plan runs late: the time the run spent stopped."""
    stop: Stop | None = None
    resumed_at: float | None = None
    pinned_since: float | None = None
    reason: str | None = None
    """The reason of the last pause."""
    error_id: str = field(default_factory=lambda: secrets.token_hex(8))
    exception_id: str = field(default_factory=lambda: secrets.token_hex(8))

    @property
    def name(self) -> str:
        """The resource name ``organizations/{o}/workspaces/{w}/automations/{a}/runs/{r}``."""
        return f"{self.automation}/runs/{self.id}"

    def state(self, statuses: NativeStatuses, now: float, stop_seconds: float) -> tuple[str, float]:
        """The state key at ``now``, and when the run entered that state."""
        timeline = self.timeline
        if timeline.pinned is not None:
            since = self.pinned_since if self.pinned_since is not None else timeline.pinned_at
            return timeline.pinned, now if since is None else since
        if self.stop is not None:
            stopped_at = self.stop.at + stop_seconds
            if now < stopped_at:
                return STOPPING, self.stop.at
            return STOPPED, stopped_at
        plan_now = now - self.shift
        native = statuses.at(timeline, plan_now)
        phase = timeline.phase(plan_now)
        if phase == "pending":
            return native, timeline.created
        if phase == "running":
            if self.resumed_at is not None:
                return native, self.resumed_at
            return native, timeline.starts + self.shift
        return native, max(timeline.ends + self.shift, self.resumed_at or -math.inf)

    def pause(self, now: float, reason: str) -> None:
        """Begin stopping now (the caller checked that the state allows it)."""
        self.stop = Stop(now, reason, self._plan_time(now))
        self.reason = reason
        self._unpin()

    def resume(self, now: float) -> None:
        """Back to executing now, the remaining work ahead (the caller checked the state)."""
        plan_at = self.stop.plan_at if self.stop is not None else self._plan_time(now)
        self.stop = None
        self._unpin()
        self.resumed_at = now
        if math.isinf(self.timeline.starts):  # a plan that never leaves the queue
            self.pin(EXECUTING, "running", now)
            return
        self.shift = now - max(plan_at, self.timeline.starts)

    def pin(self, native: str, phase: Phase, now: float) -> None:
        """Fix the run in ``native`` from ``now`` on (``force_status``)."""
        self.stop = None
        self.timeline.pin(native, phase, now)
        self.pinned_since = now

    def _plan_time(self, now: float) -> float:
        """Where the plan stands: a pinned run stopped moving when it was pinned."""
        frozen = self.pinned_since if self.timeline.pinned is not None else None
        return (now if frozen is None else frozen) - self.shift

    def _unpin(self) -> None:
        timeline = self.timeline
        timeline.pinned = timeline.pinned_phase = timeline.pinned_at = None
        timeline.started_override = None
        self.pinned_since = None
