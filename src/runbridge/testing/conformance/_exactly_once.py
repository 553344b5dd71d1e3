"""Exactly-once creates: a create whose answer is lost after the provider made the run
leaves exactly one run, whether the client finds it again, replays it by its
idempotency key, or raises ``CreateUnconfirmed`` for ``resolve`` to settle."""

from __future__ import annotations

from ... import CreateUnconfirmed, Run, RunClient, RunRef, RunRequest, UnsupportedOperation
from ...emulation import Emulator
from ._base import ConformanceBase

CREATES = 3
"""Logical creates each test makes."""


class ExactlyOnceConformance(ConformanceBase):
    """Creates, single and in bulk, under a lost-response fault (``reset_after``)."""

    async def listed(self, client: RunClient, target: str) -> set[RunRef]:
        """Every run the provider lists for ``target``."""
        return {run.ref async for run in client.list(target=target)}

    async def settled(self, client: RunClient, token: str) -> Run | None:
        """The run of an unconfirmed create, ``None`` when the provider cannot tell."""
        try:
            run = await client.resolve(token, timeout=60)  # waits out the settle window
        except UnsupportedOperation:
            return None  # neither idempotency keys nor client tokens: nothing can tell
        assert run is not None, (
            f"resolve({token!r}) says the create made no run, but the provider made it "
            "(only its answer was lost): creating it again would duplicate it"
        )
        return run

    def assert_one_each(self, new: set[RunRef], found: list[Run]) -> None:
        """``new`` runs are one per create, and hold every run the client reported."""
        assert len(new) == CREATES, (
            f"{CREATES} creates whose answers were lost left {len(new)} runs on the "
            "provider: a create whose answer is lost must be found again, replayed with its "
            "idempotency key, or raise CreateUnconfirmed, never be sent again as if nothing "
            "had been made"
        )
        assert {run.ref for run in found} <= new, "the client reported runs the provider lacks"

    async def test_lost_creates_make_one_run_each(
        self, client: RunClient, emulator: Emulator, target: str
    ) -> None:
        before = await self.listed(client, target)
        found: list[Run] = []
        for n in range(CREATES):
            emulator.inject_fault("reset_after")
            try:
                found.append(await client.create(target, inputs={"kit": n}))
            except CreateUnconfirmed as exc:
                run = await self.settled(client, exc.token)
                found.extend([run] if run is not None else [])
        new = await self.listed(client, target) - before
        self.assert_one_each(new, found)

    async def test_lost_batch_creates_make_one_run_each(
        self, client: RunClient, emulator: Emulator, target: str
    ) -> None:
        self.need(client, "create_many")
        before = await self.listed(client, target)
        requests = [RunRequest(target=target, inputs={"kit": n}) for n in range(CREATES)]
        emulator.inject_fault("reset_after")
        result = await client.create_many(requests, concurrency=1)
        found = list(result.runs)
        for error in result.errors:
            assert error.token is not None, (
                f"request {error.index} failed outright after a lost answer: {error.message}"
            )
            run = await self.settled(client, error.token)
            found.extend([run] if run is not None else [])
        new = await self.listed(client, target) - before
        self.assert_one_each(new, found)
