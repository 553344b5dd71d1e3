"""Exactly-once creates on Kognitos, which has no idempotency key, over real HTTP.

A caller's run name is sent unchanged and is what the lost-create lookup matches,
exactly, among the runs of the target created since the create was sent (with the
core's allowance for clock skew). Without a caller name, runbridge generates one
carrying a client token. The lookup walks every page of the window and refuses to
guess between several candidates.
"""

from __future__ import annotations

import time

import pytest

import runbridge
from runbridge import CreateUnconfirmed, RunClient, RunRequest
from runbridge.testing import testing_options
from runbridge_kognitos.emulator import KognitosEmulator

CREATE = ("POST", "/v2/runs")
LIST = ("GET", "/v2/runs")


class SetClock:
    """An emulator clock a test sets at will, backwards too.

    Setting it back places a run before others already listed: it stands for runs
    other clients create between a lost create and its lookup.
    """

    def __init__(self) -> None:
        self.at = time.time()

    def now(self) -> float:
        return self.at


@pytest.fixture
def provider() -> str:
    return "kognitos"


@pytest.fixture
def clock() -> SetClock:
    return SetClock()


@pytest.fixture
def emulator(clock: SetClock) -> KognitosEmulator:
    """The emulator on a clock the test sets (``client`` connects to it)."""
    return KognitosEmulator(clock=clock)


@pytest.mark.parametrize(
    "name",
    [
        "Process invoice 42",
        # A caller's name shaped like a generated one, with a token of another create.
        "runbridge p 2024-05-01T12:00:00Z ~rb:0123456789abcdef",
    ],
)
async def test_a_lost_create_is_found_by_its_exact_name_and_not_sent_twice(
    client: RunClient, emulator: KognitosEmulator, name: str
) -> None:
    target = emulator.default_target
    await client.create(target, name=name[:-1])  # a near miss: another name
    emulator.inject_fault("reset_after")  # the run is created, the answer is lost
    run = await client.create(target, inputs={"n": 42}, name=name)
    assert emulator.fault_counts["reset_after"] == 1
    assert emulator.requests.count(CREATE) == 2
    assert emulator.requests[-1] == LIST  # found by listing, not by sending again
    assert len(emulator.runs) == 2
    assert run.id in emulator.runs and emulator.runs[run.id].name == name
    assert emulator.runs[run.id].inputs == [{"name": "n", "value": 42}]


async def test_a_lost_create_without_a_name_is_found_by_its_token(
    client: RunClient, emulator: KognitosEmulator
) -> None:
    target = emulator.default_target
    others = [await client.create(target) for _ in range(3)]  # generated names, other tokens
    emulator.inject_fault("reset_after")
    run = await client.create(target)
    assert emulator.requests.count(CREATE) == 4 and len(emulator.runs) == 4
    assert run.ref not in {o.ref for o in others}
    assert run.name is not None
    assert emulator.runs[run.id].name.startswith(run.name + " ~rb:")


@pytest.mark.parametrize("name", [None, "Process invoice 42"])
async def test_a_lost_create_that_never_arrived_is_sent_again_once_nothing_can_land(
    client: RunClient, emulator: KognitosEmulator, name: str | None
) -> None:
    # Dropped before the server saw it -- but a client cannot tell that from an answer
    # lost after the run was made, and the run may still land: it is looked for until
    # the settle window after the send has passed, and only then sent again.
    emulator.inject_fault("reset_before")
    run = await client.create(emulator.default_target, name=name)
    assert emulator.requests.count(CREATE) == 2 and list(emulator.runs) == [run.id]
    first, second = (i for i, r in enumerate(emulator.requests) if r == CREATE)
    assert LIST in emulator.requests[first:second]  # it looked before sending again
    assert await client.unconfirmed() == []


@pytest.mark.parametrize("name", [None, "Process invoice 42"])
async def test_a_lost_create_is_unconfirmed_while_its_settle_window_is_open(
    emulator: KognitosEmulator, name: str | None
) -> None:
    # The deadline ends before the settle window: the honest answer is "unknown", and
    # resolve() says so until the window has passed, then "none".
    options = testing_options(deadline=0.5, settle_window=2.0)
    async with (
        emulator.serve() as url,
        runbridge.connect(
            "kognitos", token=emulator.token, base_url=url, options=options
        ) as client,
    ):
        emulator.inject_fault("reset_before")
        with pytest.raises(CreateUnconfirmed) as caught:
            await client.create(emulator.default_target, name=name)
        assert caught.value.settles_at is not None
        assert emulator.requests.count(CREATE) == 1 and emulator.runs == {}
        (pending,) = await client.unconfirmed()
        assert pending.token == caught.value.token
        with pytest.raises(CreateUnconfirmed) as early:
            await client.resolve(caught.value.token)
        assert early.value.settles_at is not None
        assert await client.resolve(caught.value.token, timeout=10) is None
        assert await client.unconfirmed() == []
        run = await client.create(emulator.default_target, name=name)
    assert list(emulator.runs) == [run.id]


async def test_two_runs_with_the_name_in_the_window_are_reported_not_guessed(
    client: RunClient, emulator: KognitosEmulator
) -> None:
    target = emulator.default_target
    # Another process started a run of that name a moment ago: this client cannot know
    # which of the two its lost create made.
    other = runbridge.connect(
        "kognitos", token=emulator.token, base_url=client.base_url, options=testing_options()
    )
    async with other:
        earlier = await other.create(target, name="nightly")
    emulator.inject_fault("reset_after")
    with pytest.raises(CreateUnconfirmed) as caught:
        await client.create(target, name="nightly")
    assert len(emulator.runs) == 2  # nothing was sent a third time
    assert emulator.requests.count(CREATE) == 2
    candidates = {run.ref for run in caught.value.candidates}
    assert candidates == {earlier.ref, *(r.ref for r in await client.list(target=target).collect())}
    assert len(candidates) == 2
    assert caught.value.provider == "kognitos" and caught.value.operation == "create"


async def test_a_same_named_run_from_before_the_window_is_not_a_candidate(
    client: RunClient, emulator: KognitosEmulator, clock: SetClock
) -> None:
    target = emulator.default_target
    clock.at -= 3600  # an hour ago: well outside the window of the next create
    old = await client.create(target, name="nightly")
    clock.at += 3600
    emulator.inject_fault("reset_after")
    run = await client.create(target, name="nightly")
    assert run.ref != old.ref and len(emulator.runs) == 2


async def test_the_lookup_walks_past_a_thousand_newer_runs(
    client: RunClient, emulator: KognitosEmulator, clock: SetClock
) -> None:
    target = emulator.default_target
    # 1,050 runs of the same process, all newer than the lost one: eleven pages of
    # 100 come before it, where the old lookup gave up after ten.
    clock.at += 60
    others = [RunRequest(target=target, name="someone else's run")] * 1050
    assert (await client.create_many(others, concurrency=32)).ok
    clock.at -= 60
    await client.create(target, name="an older run")  # the client reads the clock again
    emulator.inject_fault("reset_after")
    run = await client.create(target, inputs={"n": 1})
    assert len(emulator.runs) == 1052
    assert emulator.requests.count(CREATE) == 1052
    assert emulator.requests.count(LIST) == 11
    assert emulator.runs[run.id].inputs == [{"name": "n", "value": 1}]


async def test_the_lookup_stops_at_runs_older_than_the_window(
    client: RunClient, emulator: KognitosEmulator, clock: SetClock
) -> None:
    target = emulator.default_target
    clock.at -= 3600
    old = [RunRequest(target=target, name="old")] * 250
    assert (await client.create_many(old, concurrency=32)).ok
    clock.at += 3600
    emulator.inject_fault("reset_after")
    await client.create(target, name="new")
    # Newest first: the first page already reaches runs from before the window.
    assert emulator.requests.count(LIST) == 1
    assert len(emulator.runs) == 251


async def test_an_earlier_same_named_run_is_not_taken_for_a_create_that_never_arrived(
    client: RunClient, emulator: KognitosEmulator
) -> None:
    target = emulator.default_target
    earlier = await client.create(target, name="nightly")
    emulator.inject_fault("reset_before")
    run = await client.create(target, name="nightly")  # absent after the window: sent again
    assert run.ref != earlier.ref
    assert set(emulator.runs) == {earlier.id, run.id}
