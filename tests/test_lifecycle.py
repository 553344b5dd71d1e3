"""The one table of legal lifecycle moves."""

from __future__ import annotations

import itertools

import pytest

from runbridge import IllegalTransition, RunStatus
from runbridge.adapter import can_transition, check_transition

P, R, S, F, C, U = (
    RunStatus.PENDING,
    RunStatus.RUNNING,
    RunStatus.SUCCEEDED,
    RunStatus.FAILED,
    RunStatus.CANCELLED,
    RunStatus.UNKNOWN,
)
LEGAL_UPDATES = {(P, R), (P, C), (R, S), (R, F), (R, C), (P, P), (R, R)}
KNOWN = (P, R, S, F, C)


@pytest.mark.parametrize(("current", "requested"), list(itertools.product(KNOWN, KNOWN)))
def test_update_allows_exactly_the_documented_moves(
    current: RunStatus, requested: RunStatus
) -> None:
    legal = (current, requested) in LEGAL_UPDATES or (current is requested)
    assert can_transition(current, requested) is legal


@pytest.mark.parametrize("current", KNOWN)
def test_cancel_only_before_the_end(current: RunStatus) -> None:
    assert can_transition(current, C, move="cancel") is (not current.is_terminal)


@pytest.mark.parametrize("current", KNOWN)
def test_retry_only_after_the_end(current: RunStatus) -> None:
    assert can_transition(current, P, move="retry") is current.is_terminal


def test_unknown_current_status_leaves_the_judgement_to_the_provider() -> None:
    assert can_transition(U, R)
    assert can_transition(U, C, move="cancel")
    assert not can_transition(P, U)


def test_illegal_moves_raise_with_a_clear_message() -> None:
    with pytest.raises(IllegalTransition) as caught:
        check_transition(S, R, provider="memo", run_id="abc")
    assert caught.value.current is S and caught.value.requested is R
    assert "from succeeded to running" in str(caught.value)
    with pytest.raises(IllegalTransition, match="only finished runs can be retried"):
        check_transition(R, P, move="retry")
    with pytest.raises(IllegalTransition, match="already finished as cancelled"):
        check_transition(C, C, move="cancel")
