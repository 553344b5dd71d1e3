"""Creating and reading runs: fresh runs, reading back, ids, timestamps and secrets."""

from __future__ import annotations

from datetime import UTC, timedelta
from typing import Any

import pytest

from ... import InvalidRequest, NotFound, RunClient, RunRef, RunRequest, RunStatus
from ...emulation import MASK, Emulator
from ._base import ConformanceBase

BAD_IDS = ("../x", "a/b", "%2F", "x" * 300, "", "a b", "a?b=c", "a#b")

SECRET = "hunter2-very-secret"


def _masked(body: Any, key: str) -> bool:
    """Whether ``body`` holds ``key`` with its value masked, at any depth."""
    if isinstance(body, dict):
        return body.get(key) == MASK or any(_masked(value, key) for value in body.values())
    if isinstance(body, list):
        return any(_masked(item, key) for item in body)
    return False


class CreateConformance(ConformanceBase):
    """``create`` and ``get``: what a new run looks like, reading it back, ids checked
    before the wire, timestamps, and secrets (sent where supported, never shown)."""

    async def test_create_returns_a_fresh_run(self, client: RunClient, target: str) -> None:
        run = await client.create(target, inputs={"customer": "ACME", "amount": 3})
        assert run.ref.provider == self.provider
        assert client.ref(run) == run.ref
        assert run.status is RunStatus.PENDING
        assert run.native_status
        assert run.created_at is not None and run.created_at.tzinfo is not None
        assert run.failure is None
        assert run.raw

    async def test_get_reads_back_the_created_run(self, client: RunClient, target: str) -> None:
        created = await client.create(target, inputs={"customer": "ACME"})
        got = await client.get(str(created.ref))
        assert got.ref == created.ref
        assert RunRef.parse(str(got.ref)) == got.ref
        if "inputs" in client.capabilities.reports:
            assert got.inputs.get("customer") == "ACME"
        else:
            assert not got.inputs, "capabilities say inputs are not reported"
        if "target" in client.capabilities.reports:
            assert got.target is not None
            listed = [r.ref async for r in client.list(target=got.target)]
            assert got.ref in listed, "a run's target must list the run back"

    async def test_unknown_run_is_not_found(self, client: RunClient, emulator: Emulator) -> None:
        with pytest.raises(NotFound) as caught:
            await client.get(emulator.unknown_id())
        assert caught.value.provider == self.provider
        assert caught.value.status == 404

    @pytest.mark.parametrize("bad", BAD_IDS)
    async def test_malformed_ids_never_reach_the_wire(
        self, client: RunClient, emulator: Emulator, bad: str
    ) -> None:
        seen = len(emulator.requests)
        with pytest.raises(InvalidRequest) as caught:
            await client.get(RunRef(self.provider, bad) if bad else bad)
        assert caught.value.field in ("id", "ref")
        assert len(emulator.requests) == seen

    async def test_timestamps_are_aware_utc(self, client: RunClient, target: str) -> None:
        run = await client.create(target)
        assert run.created_at is not None
        assert run.created_at.utcoffset() == timedelta(0)
        assert run.created_at.tzinfo is UTC

    async def test_secrets_stay_out_of_reprs_and_errors(
        self, client: RunClient, emulator: Emulator, target: str
    ) -> None:
        request = RunRequest(target=target, secrets={"password": SECRET})
        assert SECRET not in repr(request)
        assert SECRET not in repr(client)
        if not client.capabilities.secrets:
            seen = len(emulator.requests)
            with pytest.raises(InvalidRequest) as caught:
                await client.create(request)
            assert caught.value.field == "secrets"
            assert SECRET not in str(caught.value)
            assert len(emulator.requests) == seen
            return
        run = await client.create(request)
        assert SECRET not in repr(run)
        assert SECRET not in repr(run.raw)

    async def test_secrets_reach_the_provider_masked_in_its_log(
        self, client: RunClient, emulator: Emulator, target: str
    ) -> None:
        if not client.capabilities.secrets:
            pytest.skip(f"{self.provider} takes no secrets (capabilities.secrets is False)")
        seen = len(emulator.log)
        run = await client.create(target, secrets={"password": SECRET})
        stored = emulator.secrets_of(run.id)
        assert stored is not None, (
            "capabilities say secrets are supported, but the emulator keeps none for the "
            "run (secrets_of returned None): the adapter must send RunRequest.secrets, and "
            "the emulator must store them where the provider does; a provider that cannot "
            "keep them safely declares Capabilities.of(..., secrets=False) (True by default)"
        )
        assert stored.get("password") == SECRET, (
            f"the provider stored {sorted(stored)} for the run, not the secret 'password' "
            "the create carried"
        )
        logged = emulator.log[seen:]
        assert SECRET not in repr(logged), (
            "a secret shows in the emulator's request log: declare the body key that "
            "carries secrets in the emulator's secret_fields"
        )
        assert any(_masked(entry.body, "password") for entry in logged), (
            "no request in the emulator's log carries the secret, masked"
        )
