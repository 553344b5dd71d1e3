"""What emulated runs will do, and runs that exist already: plans and seeded histories.

``Planning`` is a part of the ``Emulator`` base. Tests queue plans for the next
runs (``plan_next``), set a standing plan for every run (``plan_every``), either
for one target only, and seed runs that were created before the test began
(``seed``). An emulator names a run's target when it takes its plan
(``take_plan``) and builds seeded records in ``seed_run``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar

from .._model._run import FailureKind, RunStatus
from ._lifecycle import Plan, Timeline, outcome_of
from ._log import CreatedRun

SEEDED_QUEUED = 1.0
SEEDED_RUNNING = 2.0
"""Seconds a seeded finished run spent queued and running (less if created just before now)."""


class Planning:
    """Plans for runs to come, and seeded runs; part of ``Emulator``."""

    provider: ClassVar[str]
    default_plan: Plan
    """The plan of a run no queued or standing plan applies to (by default: succeed)."""

    def now(self) -> float:
        """Current emulator time."""
        raise NotImplementedError

    @property
    def default_target(self) -> str:
        """A target string that exists on this emulator."""
        raise NotImplementedError

    def _init_plans(self) -> None:
        self.default_plan = Plan()
        self._plans: deque[Plan] = deque()
        self._target_plans: dict[str, deque[Plan]] = {}
        self._standing: dict[str, Plan] = {}
        self.created: list[CreatedRun] = []
        """Every run created through the API, in order: what the application asked for."""

    # -- hooks for subclasses ---------------------------------------------------------

    def add_target(self) -> str:
        """Make a new target exist and return it, in ``default_target``'s form (subclasses)."""
        raise NotImplementedError(f"the {self.provider} emulator cannot add targets")

    def target_key(self, target: str) -> str | None:
        """``target`` in ``default_target``'s form; ``None`` when no such target exists.

        Plans and seeds name targets in any form the provider accepts; this is
        the one form plans are kept under and ``take_plan`` is given.
        """
        return target

    def seed_run(
        self,
        target: str,
        timeline: Timeline,
        *,
        inputs: dict[str, Any],
        name: str | None,
        options: dict[str, Any],
    ) -> str:
        """Store a run of ``target`` (as ``target_key`` gives it) created at
        ``timeline.created`` and return its id (subclasses)."""
        raise NotImplementedError(f"the {self.provider} emulator cannot seed runs")

    def record_created(self, run: CreatedRun) -> None:
        """Note a run the API created (subclasses call it from their create handlers)."""
        self.created.append(run)

    # -- plans ------------------------------------------------------------------------

    def _plan_of(self, plan: Plan | None, fields: Mapping[str, Any]) -> Plan:
        if plan is not None and fields:
            raise TypeError("give a Plan or its fields, not both")
        return plan if plan is not None else Plan(**fields)

    def _check_target(self, target: str) -> str:
        key = self.target_key(target) if isinstance(target, str) else None
        if key is None:
            raise KeyError(
                f"the {self.provider} emulator has no target {target!r} "
                f"(default_target: {self.default_target!r})"
            )
        return key

    def plan_next(
        self,
        plan: Plan | None = None,
        /,
        *,
        times: int = 1,
        target: str | None = None,
        **fields: Any,
    ) -> Plan:
        """Queue the plan the next ``times`` created runs follow (of ``target`` only, if given).

        Takes a ``Plan`` or its fields. Queued plans apply in order, those for the
        run's target first, before any standing plan (``plan_every``).
        """
        chosen = self._plan_of(plan, fields)
        if isinstance(times, bool) or not isinstance(times, int) or times < 1:
            raise ValueError(f"times must be a positive int, not {times!r}")
        if target is None:
            queue = self._plans
        else:
            queue = self._target_plans.setdefault(self._check_target(target), deque())
        queue.extend([chosen] * times)
        return chosen

    def plan_every(
        self, plan: Plan | None = None, /, *, target: str | None = None, **fields: Any
    ) -> Plan:
        """Make every run from now on follow a plan (every run of ``target``, if given).

        Queued plans (``plan_next``) still come first. Without ``target`` this
        replaces ``default_plan``.
        """
        chosen = self._plan_of(plan, fields)
        if target is None:
            self.default_plan = chosen
        else:
            self._standing[self._check_target(target)] = chosen
        return chosen

    def take_plan(self, target: str | None = None) -> Plan:
        """The plan for a run being created now, of ``target`` (as ``target_key`` gives it)."""
        queue = self._target_plans.get(target) if target is not None else None
        if queue:
            return queue.popleft()
        if self._plans:
            return self._plans.popleft()
        standing = self._standing.get(target) if target is not None else None
        return standing or self.default_plan

    # -- seeded runs ------------------------------------------------------------------

    def seed(
        self,
        target: str | None = None,
        *,
        status: RunStatus | str = RunStatus.SUCCEEDED,
        created_at: datetime | float | None = None,
        inputs: Mapping[str, Any] | None = None,
        name: str | None = None,
        outputs: dict[str, Any] | None = None,
        failure: FailureKind = "task",
        message: str | None = None,
        native: str | None = None,
        **options: Any,
    ) -> str:
        """Add a run that exists already (a history to list) and return its id.

        ``status`` is canonical: a finished run ended as planned (``outputs``,
        ``failure``, ``message``); a ``pending`` or ``running`` one stays so until
        cancelled or forced. ``native`` ends it in that native status verbatim.
        ``created_at`` (an aware ``datetime`` or emulator seconds; default now)
        must not be after the emulator's now. ``options`` are provider fields of
        the stored run (see each emulator's ``seed_run``).
        """
        chosen = self._check_target(target if target is not None else self.default_target)
        now = self.now()
        created = _seconds(created_at, now)
        span = now - created
        status = outcome_of(status)
        queued = min(SEEDED_QUEUED, span if status is RunStatus.RUNNING else span / 2)
        plan = Plan(
            outcome=status,
            failure=failure,
            queued=queued,
            running=min(SEEDED_RUNNING, span / 2),
            outputs=outputs,
            native=native,
            message=message,
        )
        if inputs is not None and not isinstance(inputs, Mapping):
            raise TypeError(f"inputs must be a mapping, not {type(inputs).__name__}")
        return self.seed_run(
            chosen, Timeline(created, plan), inputs=dict(inputs or {}), name=name, options=options
        )


def _seconds(created_at: datetime | float | None, now: float) -> float:
    if created_at is None:
        return now
    if isinstance(created_at, datetime):
        if created_at.tzinfo is None:
            raise ValueError("created_at must be timezone-aware (e.g. datetime.now(UTC))")
        seconds = created_at.timestamp()
    elif isinstance(created_at, int | float) and not isinstance(created_at, bool):
        seconds = float(created_at)
    else:
        raise TypeError(f"created_at must be a datetime or seconds, not {created_at!r}")
    if not seconds <= now:  # NaN too
        raise ValueError(
            f"created_at {created_at!r} is after the emulator's now: seeded runs are history"
        )
    return seconds
