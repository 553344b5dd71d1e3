"""What a fan-out reports: each member's ``Outcome``, and ``FanoutError`` grouping the
members that failed without losing those that succeeded."""

from __future__ import annotations

import attrs

from .._model._errors import RunbridgeError
from .._model._run import Run, RunStatus


@attrs.frozen
class Outcome:
    """What one member of a fan-out produced: a run, or the error that stopped it."""

    member: str
    """The member's label: its profile name, or its provider name."""
    provider: str
    run: Run | None = None
    error: BaseException | None = attrs.field(default=None, eq=False)

    @property
    def ok(self) -> bool:
        """True when there is a run and no error."""
        return self.error is None and self.run is not None

    @property
    def succeeded(self) -> bool:
        """True when the run finished successfully."""
        return self.run is not None and self.run.status is RunStatus.SUCCEEDED


class FanoutError(ExceptionGroup[Exception]):
    """Raised with ``on_error="raise"``: one member per failed provider, in input order.

    ``outcomes`` still holds every result, so nothing that succeeded is lost.
    """

    outcomes: list[Outcome]


def raise_group(outcomes: list[Outcome], what: str) -> None:
    failed = [o for o in outcomes if o.error is not None]
    if not failed:
        return
    members = [
        o.error if isinstance(o.error, Exception) else RuntimeError(repr(o.error)) for o in failed
    ]
    for outcome, error in zip(failed, members, strict=True):
        error.add_note(f"member {outcome.member!r} (provider {outcome.provider})")
    names = ", ".join(f"{o.member} ({o.provider})" for o in failed)
    group = FanoutError(f"{what} failed on {len(failed)} of {len(outcomes)}: {names}", members)
    group.outcomes = outcomes
    raise group


def no_success(outcome: Outcome) -> RunbridgeError:
    status = outcome.run.status.value if outcome.run is not None else "unknown"
    return RunbridgeError(f"run finished as {status}", provider=outcome.provider, operation="race")
