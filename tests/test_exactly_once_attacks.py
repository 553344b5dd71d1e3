"""Exactly-once at the edges: answers lost before 503s, runs still being made when
``resolve`` asks, and provider clocks minutes off ours.

Each test is the attack a hostile server or a skewed clock makes (issue 23) and counts
what matters against the emulator's own state: duplicates, lost runs, and tokens that
``resolve`` settles wrongly. All must be zero.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import runbridge
from runbridge import CreateUnconfirmed, InvalidRequest, RetryPolicy, RunRequest
from runbridge.emulation import Emulator, Faults, ManualClock, RealClock
from runbridge.testing import emulated_client, load_emulator, testing_options
from runbridge_kognitos_api._values import decode_values
from support import posts, until

TAGGED = ("kognitos", "kognitos-api", "runflow")
PATIENT = RetryPolicy(attempts=3, base_delay=0.05, max_delay=0.2)


def inputs_of(provider: str, run: Any) -> dict[str, Any]:
    """A run's inputs as the emulator stores them."""
    if provider == "cyberdesk":
        return dict(run.input_values or {})
    if provider == "runflow":
        return dict(run.input or {})
    if provider == "kognitos-api":  # typed values, as the invoke sent them
        return decode_values(run.user_inputs, "user_inputs")
    return {item["name"]: item["value"] for item in run.inputs or []}


def emulator_for(provider: str, **kwargs: Any) -> Emulator:
    extras = {"inputs"} if provider == "kognitos" else set()
    return load_emulator(provider, extras=extras, **kwargs)


# -- 1. Cyberdesk: the answer lost, then 503s ------------------------------------------------


async def test_cyberdesk_answer_lost_then_503s_stays_open_and_resolves_to_its_run() -> None:
    emulator = load_emulator("cyberdesk")
    async with emulated_client("cyberdesk", emulator=emulator) as (client, _):
        request = RunRequest(target=emulator.default_target, inputs={"order": 7})
        emulator.inject_fault("reset_after")  # made, and the answer lost
        emulator.faults = Faults(server_error=1.0, server_statuses=(503,), methods={"POST"})
        with pytest.raises(CreateUnconfirmed) as caught:
            await client.create(request)
        assert len(emulator.runs) == 1  # the first attempt made it
        (pending,) = await client.unconfirmed()  # the entry stays open, with its token
        assert pending.token == caught.value.token
        assert caught.value.status == 503  # the last answer, kept as the cause
        emulator.faults = None
        run = await client.resolve(caught.value.token)  # sent again with its key
        assert run is not None and list(emulator.runs) == [run.id]
        assert await client.unconfirmed() == []
    keys = {e.header("Idempotency-Key") for e in emulator.log if e.method == "POST"}
    assert len(keys) == 1  # every send carried the one key of the one logical create


async def test_cyberdesk_resolve_from_another_client_needs_the_request(tmp_path: Path) -> None:
    emulator = load_emulator("cyberdesk")
    journal = tmp_path / "journal.sqlite"
    request = RunRequest(target=emulator.default_target, inputs={"order": 8})
    async with emulated_client("cyberdesk", emulator=emulator, journal=journal) as (client, _):
        emulator.inject_fault("reset_after")
        emulator.faults = Faults(server_error=1.0, server_statuses=(503,), methods={"POST"})
        with pytest.raises(CreateUnconfirmed) as caught:
            await client.create(request)
    emulator.faults = None
    async with emulated_client("cyberdesk", emulator=emulator, journal=journal) as (later, _):
        with pytest.raises(InvalidRequest) as missing:
            await later.resolve(caught.value.token)
        assert missing.value.field == "request"
        run = await later.resolve(caught.value.token, request=request)
    assert run is not None and list(emulator.runs) == [run.id]


# -- 2. resolve() while the provider is still making the run ---------------------------------


@pytest.mark.parametrize("provider", TAGGED)
async def test_resolve_never_says_none_while_the_run_may_still_land(provider: str) -> None:
    emulator = emulator_for(provider)
    # The provider takes 1.5 s to make a run; the client gives up on the answer at 0.2 s
    # and on the call at 0.6 s, while the settle window is 3 s.
    emulator.faults = Faults(slow=1.0, slow_seconds=1.5, methods={"POST"})
    options = testing_options(timeout=0.2, deadline=0.6, settle_window=3.0, retry=PATIENT)
    async with emulated_client(provider, emulator=emulator, options=options) as (client, _):
        with pytest.raises(CreateUnconfirmed) as caught:
            await client.create(emulator.default_target, inputs={"n": 1})
        emulator.faults = None
        assert emulator.runs == {}  # not made yet
        with pytest.raises(CreateUnconfirmed) as early:  # asked too early: "unknown", never None
            await client.resolve(caught.value.token)
        assert early.value.settles_at is not None
        assert early.value.settles_at > datetime.now(UTC)
        await until(lambda: len(emulator.runs) == 1)  # it lands
        run = await client.resolve(caught.value.token)
        assert run is not None and list(emulator.runs) == [run.id]
    assert posts(emulator) == 1  # never sent again


@pytest.mark.parametrize("provider", TAGGED)
async def test_resolve_with_a_timeout_waits_for_the_run_to_land(provider: str) -> None:
    emulator = emulator_for(provider)
    emulator.faults = Faults(slow=1.0, slow_seconds=1.0, methods={"POST"})
    options = testing_options(timeout=0.2, deadline=0.4, settle_window=2.0, retry=PATIENT)
    async with emulated_client(provider, emulator=emulator, options=options) as (client, _):
        with pytest.raises(CreateUnconfirmed) as caught:
            await client.create(emulator.default_target, inputs={"n": 2})
        emulator.faults = None
        run = await client.resolve(caught.value.token, timeout=15)
        assert run is not None and list(emulator.runs) == [run.id]
    assert posts(emulator) == 1


@pytest.mark.parametrize("provider", TAGGED)
async def test_a_create_still_being_made_is_found_not_sent_again(provider: str) -> None:
    emulator = emulator_for(provider)
    emulator.faults = Faults(slow=1.0, slow_seconds=1.0, methods={"POST"})
    options = testing_options(timeout=0.2, deadline=20.0, settle_window=3.0, retry=PATIENT)
    async with emulated_client(provider, emulator=emulator, options=options) as (client, _):
        run = await client.create(emulator.default_target, inputs={"n": 3})
    assert posts(emulator) == 1 and list(emulator.runs) == [run.id]


# -- 3. a provider clock minutes off ours ----------------------------------------------------

SKEWS = {"behind": -300.0, "ahead": 300.0}


@pytest.mark.parametrize("skew", sorted(SKEWS))
@pytest.mark.parametrize("provider", ["cyberdesk", *TAGGED])
async def test_lost_answers_are_found_whatever_the_provider_clock(
    provider: str, skew: str, tmp_path: Path
) -> None:
    emulator = emulator_for(provider, clock=RealClock(offset=SKEWS[skew]))
    journal = tmp_path / "journal.sqlite"
    requests = [RunRequest(target=emulator.default_target, inputs={"n": n}) for n in range(12)]
    tokens: dict[int, str] = {}
    returned: dict[int, str] = {}
    options = testing_options(deadline=0.3, settle_window=1.0)
    async with emulated_client(provider, emulator=emulator, journal=journal, options=options) as (
        client,
        _,
    ):
        for n, request in enumerate(requests):
            emulator.inject_fault("reset_after" if n % 2 else "reset_before")
            try:
                returned[n] = (await client.create(request)).id
            except CreateUnconfirmed as exc:
                tokens[n] = exc.token
    # Another process, which has never read this provider's clock, settles them.
    async with emulated_client(provider, emulator=emulator, journal=journal) as (later, _):
        for n, token in tokens.items():
            run = await later.resolve(token, request=requests[n], timeout=15)
            if run is not None:
                returned[n] = run.id
    made = [inputs_of(provider, run)["n"] for run in emulator.runs.values()]
    assert sorted(made) == sorted(set(made))  # no duplicate
    assert set(returned.values()) <= set(emulator.runs)  # every id returned exists
    assert sorted(n for n in returned) == sorted(made)  # every run is the caller's
    assert all(n % 2 for n in made if n not in returned)  # nothing orphaned


@pytest.mark.parametrize("provider", TAGGED)
async def test_a_frozen_lagging_clock_hides_no_run(provider: str, tmp_path: Path) -> None:
    # The provider's clock stands ten minutes behind and never moves: every run it makes
    # is stamped then. Lookups must follow its clock, not ours.
    emulator = emulator_for(provider, clock=ManualClock(start=time.time() - 600))
    journal = tmp_path / "journal.sqlite"
    options = testing_options(deadline=0.3, settle_window=1.0)
    requests = [RunRequest(target=emulator.default_target, inputs={"n": n}) for n in range(6)]
    tokens = []
    async with emulated_client(provider, emulator=emulator, journal=journal, options=options) as (
        client,
        _,
    ):
        for request in requests:
            emulator.inject_fault("reset_after")  # every one made, its answer lost
            emulator.faults = Faults(slow=1.0, slow_seconds=0.5, methods={"GET"})
            try:
                await client.create(request)
            except CreateUnconfirmed as exc:
                tokens.append(exc.token)
            emulator.faults = None
    async with emulated_client(provider, emulator=emulator, journal=journal) as (later, _):
        found = [await later.resolve(token, timeout=15) for token in tokens]
    assert None not in found  # each run exists: none may resolve to "no run"
    assert len(emulator.runs) == len(requests)


async def test_a_same_named_run_minutes_earlier_on_a_fast_clock_is_not_taken() -> None:
    # Kognitos matches a caller's own run name. The provider's clock runs five minutes
    # ahead of ours; a run of that name made two minutes earlier on its clock is someone
    # else's, though it is "after" our send on our clock.
    emulator = emulator_for("kognitos", clock=RealClock(offset=300))
    async with emulated_client("kognitos", emulator=emulator) as (client, _):
        await client.create(emulator.default_target, name="warm-up")  # reads the clock
        earlier = emulator.seed(
            emulator.default_target,
            status="succeeded",
            name="nightly",
            created_at=emulator.now() - 120,
        )
        emulator.inject_fault("reset_after")
        run = await client.create(emulator.default_target, name="nightly")
    assert run.id != earlier and len(emulator.runs) == 3
    assert emulator.requests.count(("POST", "/v2/runs")) == 2


async def test_a_profile_names_its_journal(tmp_path: Path) -> None:
    emulator = load_emulator("kognitos")
    path = tmp_path / "journal.sqlite"
    async with emulator.serve() as url:
        (tmp_path / "runbridge.toml").write_text(
            f"""
[profiles.k]
provider = "kognitos"
token_env = "K_TOKEN"
base_url = "{url}"
journal = "{path}"
[profiles.k.client]
settle_window = 5
"""
        )
        config = runbridge.load_config(tmp_path / "runbridge.toml")
        async with runbridge.connect(
            profile="k", config=config, environ={"K_TOKEN": emulator.token}
        ) as client:
            await client.create(emulator.default_target)
            assert type(client.journal).__name__ == "SQLiteJournal"
            assert client.capabilities  # connected through the profile
    assert path.exists() and path.stat().st_size > 0


def test_a_journal_url_with_a_password_is_refused_in_a_profile(tmp_path: Path) -> None:
    (tmp_path / "runbridge.toml").write_text(
        """
[profiles.k]
provider = "kognitos"
token_env = "K_TOKEN"
journal = "postgresql://rb:hunter2@db.example/runs"
"""
    )
    with pytest.raises(runbridge.ConfigError) as caught:
        runbridge.load_config(tmp_path / "runbridge.toml")
    assert caught.value.field == "profiles.k.journal"
    assert "hunter2" not in str(caught.value)


def test_settle_windows_are_checked() -> None:
    for bad in (-1, float("nan"), "5", float("inf")):
        with pytest.raises(runbridge.ConfigError) as caught:
            runbridge.ClientOptions(settle_window=bad)  # type: ignore[arg-type]
        assert caught.value.field == "settle_window"
    assert runbridge.ClientOptions(settle_window=0).settle_window == 0


# -- bulk requests whose answer was lost ----------------------------------------------------


async def test_a_lost_cyberdesk_bulk_request_is_settled_by_sending_it_again_whole() -> None:
    emulator = load_emulator("cyberdesk")
    async with emulated_client("cyberdesk", emulator=emulator) as (client, _):
        same = RunRequest(target=emulator.default_target, inputs={"order": 1})
        emulator.inject_fault("reset_after")  # the bulk request made 3 runs; its answer lost
        emulator.faults = Faults(server_error=1.0, server_statuses=(503,), paths="/bulk")
        result = await client.create_many([same, same, same])
        assert len(result.unconfirmed) == 3 and len(emulator.runs) == 3  # not "failed"
        emulator.faults = None
        runs = [await client.resolve(e.token, request=same) for e in result.unconfirmed]  # type: ignore[arg-type]
        assert {run.id for run in runs if run is not None} == set(emulator.runs)
        assert await client.unconfirmed() == []
        mixed = [same, RunRequest(target=emulator.default_target, inputs={"order": 2})] * 2
        emulator.inject_fault("reset_after", times=2)  # two chunks of two equal requests
        emulator.faults = Faults(server_error=1.0, server_statuses=(503,), paths="/bulk")
        other = await client.create_many(mixed)
        assert len(other.unconfirmed) == 4 and len(emulator.runs) == 7
        emulator.faults = None
        with pytest.raises(InvalidRequest) as alone:  # its chunk held other requests too
            await client.resolve(other.unconfirmed[0].token)  # type: ignore[arg-type]
        assert alone.value.field == "request"
        again = await client.create_many(mixed, resume=True)
        assert again.ok and len(emulator.runs) == 7
        assert {r.id for r in again.runs} == set(emulator.runs) - {r.id for r in runs if r}


# -- names kept working ---------------------------------------------------------------------


async def test_unconfirmed_used_as_a_list_still_works_with_a_warning() -> None:
    emulator = load_emulator("kognitos")
    async with emulated_client("kognitos", emulator=emulator) as (client, _):
        with pytest.warns(DeprecationWarning, match="await client.unconfirmed"):
            assert client.unconfirmed() == []
        with pytest.warns(DeprecationWarning, match="await client.unconfirmed"):
            assert len(client.unconfirmed()) == 0


class OldStore:
    """A journal written for runbridge 0.1's synchronous protocol."""

    def __init__(self) -> None:
        self.entries: dict[str, Any] = {}

    def begin(self, entries: Any) -> None:
        for entry in entries:
            self.entries[entry.token] = entry

    def finish(self, token: str, ref: str) -> None:
        import attrs

        self.entries[token] = attrs.evolve(self.entries[token], ref=ref, state="done")

    def abandon(self, token: str) -> None:
        import attrs

        self.entries[token] = attrs.evolve(self.entries[token], state="abandoned")

    def get(self, token: str) -> Any:
        return self.entries.get(token)

    def batch(self, provider: str, batch: str) -> dict[int, Any]:
        return {e.index: e for e in self.entries.values() if e.batch == batch}

    def pending(self, provider: str) -> list[Any]:
        return [e for e in self.entries.values() if e.state == "pending"]

    def close(self) -> None:
        pass


async def test_a_journal_of_the_old_protocol_still_records_with_a_warning() -> None:
    emulator = load_emulator("kognitos")
    store = OldStore()
    async with emulator.serve() as url:
        with pytest.warns(DeprecationWarning, match="synchronous Journal protocol"):
            client = runbridge.connect(
                "kognitos", token=emulator.token, base_url=url, journal=store,
                options=testing_options(),
            )  # fmt: skip
        async with client:
            run = await client.create(emulator.default_target)
            requests = [
                RunRequest(target=emulator.default_target, inputs={"i": i}) for i in range(3)
            ]
            assert (await client.create_many(requests)).ok
            assert (await client.create_many(requests, resume=True)).ok  # read back
    assert next(e.ref for e in store.entries.values()) == str(run.ref)
    assert all(e.state == "done" for e in store.entries.values())
    assert len(emulator.runs) == 4
