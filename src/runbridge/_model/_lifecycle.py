"""The one place that says which lifecycle moves a caller may request, and how a wait
treats runs that will not finish on their own (held runs, unknown statuses)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import attrs

from ._canonical import TERMINAL, RunStatus
from ._run_errors import IllegalTransition

Move = Literal["update", "cancel", "retry", "pause", "resume"]

_P, _R, _S, _F, _C = (
    RunStatus.PENDING,
    RunStatus.RUNNING,
    RunStatus.SUCCEEDED,
    RunStatus.FAILED,
    RunStatus.CANCELLED,
)

TRANSITIONS: dict[RunStatus, frozenset[RunStatus]] = {
    _P: frozenset({_R, _C}),
    _R: frozenset({_S, _F, _C}),
    _S: frozenset(),
    _F: frozenset(),
    _C: frozenset(),
}
"""Moves a run may make by update or cancel. Terminal runs only leave through retry."""


def can_transition(
    current: RunStatus,
    requested: RunStatus,
    *,
    move: Move = "update",
    transitions: Mapping[RunStatus, frozenset[RunStatus]] | None = None,
) -> bool:
    """Whether ``move`` may take a run from ``current`` to ``requested``.

    A run whose status is ``unknown`` is given the benefit of the doubt: the
    provider is the judge. Setting a status a run already has is allowed, except
    that cancelling or retrying is never a no-op. Pausing and resuming need a run
    that has not finished (whether it is paused is the provider's to judge).
    ``transitions`` replaces ``TRANSITIONS`` for updates, for a provider that
    documents moves of its own (``Adapter.transitions``).
    """
    if current is RunStatus.UNKNOWN:
        return True
    if move == "retry":
        return current in TERMINAL and requested is RunStatus.PENDING
    if move == "cancel":
        return requested is RunStatus.CANCELLED and current not in TERMINAL
    if move == "pause" or move == "resume":
        return current not in TERMINAL
    if requested is RunStatus.UNKNOWN:
        return False
    allowed = (transitions or TRANSITIONS).get(current, frozenset())
    return requested is current or requested in allowed


def check_transition(
    current: RunStatus,
    requested: RunStatus,
    *,
    move: Move = "update",
    provider: str | None = None,
    run_id: str | None = None,
    transitions: Mapping[RunStatus, frozenset[RunStatus]] | None = None,
) -> None:
    """Raise ``IllegalTransition`` when ``can_transition`` says no."""
    if can_transition(current, requested, move=move, transitions=transitions):
        return
    what = f"run {run_id}" if run_id else "run"
    if move == "retry":
        reason = f"cannot retry {what}: it is {current.value}; only finished runs can be retried"
    elif move in ("cancel", "pause", "resume"):
        reason = f"cannot {move} {what}: it already finished as {current.value}"
    else:
        reason = f"cannot move {what} from {current.value} to {requested.value}"
    raise IllegalTransition(
        reason, current=current, requested=requested, provider=provider, operation=move
    )


OnHold = Literal["raise", "wait"]
"""What a wait does on a run that waits for a person or is paused: raise ``RunHeld``
at once (the default), or keep waiting."""

UNKNOWN_GRACE = 60.0
"""Seconds a wait reads a status the adapter cannot map before it gives up with
``UnknownStatus`` (a garbled answer, or a status being rolled out, passes in less)."""


@attrs.frozen
class Patience:
    """A wait's ``on_hold`` and ``unknown_grace`` (``None``: an unmappable status is
    waited on until the timeout)."""

    on_hold: OnHold = "raise"
    unknown_grace: float | None = UNKNOWN_GRACE
