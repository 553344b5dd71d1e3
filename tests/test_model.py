"""The canonical model: refs, statuses, requests and runs."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from runbridge import File, InvalidRequest, Run, RunRef, RunRequest, RunStatus
from runbridge.adapter import RunFilter


def test_ref_round_trips_through_its_string() -> None:
    ref = RunRef("cyberdesk", "3c90c3cc-0d44-4b50-8888-8dd25736052a")
    assert str(ref) == "cyberdesk:3c90c3cc-0d44-4b50-8888-8dd25736052a"
    assert RunRef.parse(str(ref)) == ref


def test_ref_parse_keeps_colons_in_the_id() -> None:
    assert RunRef.parse("memo:a:b").id == "a:b"


@pytest.mark.parametrize("text", ["no-colon", ":id-without-provider", "Bad Provider:x", "p:"])
def test_malformed_refs_are_invalid_requests(text: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        RunRef.parse(text)
    assert caught.value.field in ("ref", "provider", "id")


@pytest.mark.parametrize("status", list(RunStatus))
def test_terminal_statuses(status: RunStatus) -> None:
    expected = status in (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED)
    assert status.is_terminal is expected
    assert status.is_terminal is expected


@pytest.mark.parametrize("value", ["completed", "", "SUCCEEDED", "weird"])
def test_unknown_status_names_parse_to_unknown(value: str) -> None:
    assert RunStatus.parse(value) is RunStatus.UNKNOWN


def test_request_repr_and_equality_hide_secrets() -> None:
    one = RunRequest(target="t", secrets={"password": "hunter2-secret"})
    two = RunRequest(target="t", secrets={"password": "other-secret"})
    assert "hunter2-secret" not in repr(one)
    assert "password" in repr(one)
    assert one == two  # equality never depends on (and so never reveals) secret values


def test_file_needs_exactly_one_source_and_hides_content() -> None:
    with pytest.raises(InvalidRequest):
        File("a.txt")
    with pytest.raises(InvalidRequest):
        File("a.txt", content=b"x", id="s3://b/a")
    file = File("a.txt", content=b"top secret bytes")
    assert "top secret" not in repr(file)
    assert "16 bytes" in repr(file)


def _run(**fields: object) -> Run:
    base: dict[str, object] = {"ref": RunRef("memo", "abc"), "status": RunStatus.RUNNING}
    base.update(fields)
    return Run(**base)  # type: ignore[arg-type]


def test_run_is_hashable_and_its_repr_omits_the_raw_payload() -> None:
    run = _run(raw={"token": "should-not-show"}, inputs={"a": 1})
    assert hash(run) == hash(_run(raw={"other": 1}, inputs={"b": 2}))
    assert "should-not-show" not in repr(run)
    assert run.provider == "memo" and run.id == "abc"


def test_duration_needs_both_ends() -> None:
    start = datetime(2025, 1, 1, tzinfo=UTC)
    end = datetime(2025, 1, 1, 0, 0, 30, tzinfo=UTC)
    assert _run(started_at=start, finished_at=end).duration == 30
    assert _run(started_at=start).duration is None


def test_filter_matches_every_set_criterion() -> None:
    t0 = datetime(2025, 1, 1, tzinfo=UTC)
    run = _run(target="echo", created_at=t0, cost=Decimal("1.5"))
    assert RunFilter().matches(run)
    assert RunFilter(target="echo", statuses=frozenset({RunStatus.RUNNING})).matches(run)
    assert not RunFilter(target="sum").matches(run)
    assert not RunFilter(statuses=frozenset({RunStatus.PENDING})).matches(run)
    assert not RunFilter(created_after=datetime(2025, 2, 1, tzinfo=UTC)).matches(run)
    assert not RunFilter(created_before=datetime(2024, 2, 1, tzinfo=UTC)).matches(run)
    assert not RunFilter(created_after=t0).matches(_run(created_at=None))
