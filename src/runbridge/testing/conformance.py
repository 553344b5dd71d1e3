"""The adapter conformance suite: subclass ``AdapterConformance`` and name your provider.

```python
from runbridge.testing.conformance import AdapterConformance

class TestMyProvider(AdapterConformance):
    provider = "myprovider"
```

Override the ``emulator`` fixture to seed it, and ``target`` if the emulator's
default target does not suit. Tests of operations the adapter declares
unsupported check that they raise ``UnsupportedOperation`` without any request.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, timedelta
from typing import ClassVar

import pytest
import pytest_asyncio

from .. import (
    OPERATIONS,
    AuthError,
    IllegalTransition,
    InvalidRequest,
    NotFound,
    ProviderUnavailable,
    RateLimited,
    Run,
    RunClient,
    RunRef,
    RunRequest,
    RunStatus,
    Support,
    UnsupportedOperation,
    WaitTimeout,
    connect,
)
from .._retry import RetryPolicy
from ..emulation import Emulator
from . import emulated_client, load_emulator, testing_options

__all__ = ["AdapterConformance"]

SETTLE = 3600.0
"""Seconds of emulator time after which every planned run has finished."""

BAD_IDS = ("../x", "a/b", "%2F", "x" * 300, "", "a b", "a?b=c", "a#b")


class AdapterConformance:
    """Behaviour every adapter must show against its emulator, gated by capabilities."""

    provider: ClassVar[str]
    """Name of the provider under test; set it in the subclass."""

    pytestmark: ClassVar[list[pytest.MarkDecorator]] = [pytest.mark.asyncio]

    @pytest.fixture
    def emulator(self) -> Emulator:
        """The emulator to test against; override to seed targets or data."""
        return load_emulator(self.provider)

    @pytest.fixture
    def target(self, emulator: Emulator) -> str:
        """A target that exists on the emulator."""
        return emulator.default_target

    @pytest_asyncio.fixture
    async def client(self, emulator: Emulator) -> AsyncIterator[RunClient]:
        """A client connected to the served emulator."""
        async with emulated_client(self.provider, emulator=emulator) as (client, _):
            yield client

    def supports(self, client: RunClient, operation: str) -> bool:
        """Whether the operation works natively or emulated."""
        return client.capabilities.support(operation) is not Support.UNSUPPORTED

    def need(self, client: RunClient, operation: str) -> None:
        """Skip unless ``operation`` is supported."""
        if not self.supports(client, operation):
            pytest.skip(f"{self.provider} does not support {operation}")

    async def settle(self, client: RunClient, emulator: Emulator, run: Run) -> Run:
        """Let the emulator finish the run and read it back."""
        emulator.advance(SETTLE)
        return await client.wait(run, timeout=10, poll_interval=0.01)

    # -- create / get -----------------------------------------------------------------

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

    # -- lifecycle --------------------------------------------------------------------

    async def test_run_succeeds(self, client: RunClient, emulator: Emulator, target: str) -> None:
        emulator.plan_next(outcome=RunStatus.SUCCEEDED)
        run = await client.create(target, inputs={"n": 1})
        done = await self.settle(client, emulator, run)
        assert done.status is RunStatus.SUCCEEDED
        assert done.failure is None
        if "finished_at" in client.capabilities.reports:
            assert done.finished_at is not None and done.finished_at.tzinfo is not None
            assert done.started_at is None or done.started_at <= done.finished_at

    async def test_run_fails_with_a_failure(
        self, client: RunClient, emulator: Emulator, target: str
    ) -> None:
        emulator.plan_next(outcome=RunStatus.FAILED)
        run = await client.create(target, inputs={"n": 1})
        done = await self.settle(client, emulator, run)
        assert done.status is RunStatus.FAILED
        assert done.failure is not None
        assert done.failure.kind in ("task", "system", "timeout")

    async def test_running_is_observed_between_queue_and_finish(
        self, client: RunClient, emulator: Emulator, target: str
    ) -> None:
        emulator.plan_next(queued=10, running=100)
        run = await client.create(target)
        emulator.advance(50)
        assert (await client.get(run)).status is RunStatus.RUNNING

    async def test_unknown_native_status_maps_to_unknown(
        self, client: RunClient, emulator: Emulator, target: str
    ) -> None:
        emulator.plan_next(native="quantum_entangled")
        run = await client.create(target)
        emulator.advance(SETTLE)
        got = await client.get(run)
        assert got.status is RunStatus.UNKNOWN
        assert not got.status.is_terminal
        assert got.native_status == "quantum_entangled"

    async def test_wait_times_out_with_the_last_run(
        self, client: RunClient, emulator: Emulator, target: str
    ) -> None:
        emulator.plan_next(queued=10_000)
        run = await client.create(target)
        with pytest.raises(WaitTimeout) as caught:
            await client.wait(run, timeout=0.05, poll_interval=0.01)
        last = caught.value.run
        assert last is not None and last.ref == run.ref
        assert not last.status.is_terminal

    # -- listing ----------------------------------------------------------------------

    async def test_list_walks_every_page_once(self, client: RunClient, target: str) -> None:
        created = {(await client.create(target, inputs={"i": i})).ref for i in range(5)}
        pages = [page async for page in client.list(target=target, page_size=2).pages()]
        seen = [run.ref for page in pages for run in page.items]
        assert len(seen) == len(set(seen))
        assert created <= set(seen)
        assert len(pages) >= 3
        assert pages[-1].next_cursor is None

    async def test_list_resumes_from_a_cursor(self, client: RunClient, target: str) -> None:
        for i in range(4):
            await client.create(target, inputs={"i": i})
        first = await client.list_page(target=target, page_size=2)
        assert first.next_cursor is not None
        resumed = client.list(target=target, page_size=2, cursor=first.next_cursor)
        rest = [run.ref async for run in resumed]
        all_refs = [run.ref async for run in client.list(target=target, page_size=2)]
        assert [r.ref for r in first.items] + rest == all_refs

    async def test_list_filters_by_status(
        self, client: RunClient, emulator: Emulator, target: str
    ) -> None:
        emulator.plan_next(outcome=RunStatus.SUCCEEDED, queued=0, running=1)
        done = await client.create(target)
        emulator.advance(5)
        emulator.plan_next(queued=10_000)
        waiting = await client.create(target)
        succeeded = [r.ref async for r in client.list(target=target, status="succeeded")]
        pending = [r.ref async for r in client.list(target=target, status=RunStatus.PENDING)]
        assert done.ref in succeeded and waiting.ref not in succeeded
        assert waiting.ref in pending and done.ref not in pending

    async def test_list_filters_by_creation_time(self, client: RunClient, target: str) -> None:
        run = await client.create(target)
        assert run.created_at is not None
        later = run.created_at + timedelta(days=1)
        assert [r async for r in client.list(target=target, created_after=later)] == []
        before = [r.ref async for r in client.list(target=target, created_before=later)]
        assert run.ref in before

    async def test_bad_page_size_and_cursor_are_rejected_locally(
        self, client: RunClient, emulator: Emulator
    ) -> None:
        seen = len(emulator.requests)
        top = client.capabilities.max_page_size
        for size in (0, -1, top + 1):
            with pytest.raises(InvalidRequest) as caught:
                await client.list_page(page_size=size)
            assert caught.value.field == "page_size"
        with pytest.raises(InvalidRequest):
            await client.list_page(cursor="not-a-cursor")
        assert len(emulator.requests) == seen

    # -- writes -----------------------------------------------------------------------

    async def test_create_many_reports_every_run(self, client: RunClient, target: str) -> None:
        self.need(client, "create_many")
        requests = [RunRequest(target=target, inputs={"i": i}) for i in range(3)]
        result = await client.create_many(requests)
        assert result.ok, result.errors
        assert len({run.ref for run in result.runs}) == 3

    async def test_cancel_a_pending_run(
        self, client: RunClient, emulator: Emulator, target: str
    ) -> None:
        self.need(client, "cancel")
        emulator.plan_next(queued=10_000)
        run = await client.create(target)
        cancelled = await client.cancel(run)
        assert cancelled.status is RunStatus.CANCELLED
        assert (await client.get(run)).status is RunStatus.CANCELLED
        with pytest.raises(IllegalTransition):
            await client.cancel(run)

    async def test_retry_a_finished_run(
        self, client: RunClient, emulator: Emulator, target: str
    ) -> None:
        self.need(client, "retry")
        emulator.plan_next(outcome=RunStatus.FAILED)
        run = await client.create(target, inputs={"n": 7})
        await self.settle(client, emulator, run)
        retried = await client.retry(run)
        assert not retried.status.is_terminal
        if client.capabilities.support("retry") is Support.NATIVE:
            assert retried.ref == run.ref
        else:
            assert retried.ref != run.ref
        with pytest.raises(IllegalTransition):
            await client.retry(retried)

    async def test_update_moves_status_legally_only(
        self, client: RunClient, emulator: Emulator, target: str
    ) -> None:
        self.need(client, "update")
        emulator.plan_next(queued=10_000)
        run = await client.create(target)
        moved = await client.update(run, status=RunStatus.RUNNING)
        assert moved.status is RunStatus.RUNNING
        finished = await client.update(run, status=RunStatus.SUCCEEDED)
        assert finished.status is RunStatus.SUCCEEDED
        with pytest.raises(IllegalTransition):
            await client.update(run, status=RunStatus.RUNNING)

    async def test_delete_removes_the_run(self, client: RunClient, target: str) -> None:
        self.need(client, "delete")
        run = await client.create(target)
        await client.delete(run)
        with pytest.raises(NotFound):
            await client.get(run)

    async def test_unsupported_operations_say_so_without_a_request(
        self, client: RunClient, emulator: Emulator, target: str
    ) -> None:
        ref = RunRef(self.provider, emulator.unknown_id())
        calls: dict[str, Callable[[], Awaitable[object]]] = {
            "create_many": lambda: client.create_many([RunRequest(target=target)]),
            "update": lambda: client.update(ref, status=RunStatus.RUNNING),
            "cancel": lambda: client.cancel(ref),
            "retry": lambda: client.retry(ref),
            "delete": lambda: client.delete(ref),
        }
        for operation in OPERATIONS:
            if operation not in calls or self.supports(client, operation):
                continue
            seen = len(emulator.requests)
            with pytest.raises(UnsupportedOperation) as caught:
                await calls[operation]()
            assert caught.value.provider == self.provider
            assert caught.value.operation == operation
            assert self.provider in str(caught.value) and operation in str(caught.value)
            assert len(emulator.requests) == seen

    # -- errors -----------------------------------------------------------------------

    async def test_wrong_token_is_an_auth_error_without_the_token(self, emulator: Emulator) -> None:
        async with emulator.serve() as base_url:
            token = "wrong-token-s3cr3t-value"
            async with connect(
                self.provider,
                token=token,
                base_url=base_url,
                options=testing_options(),
                **emulator.client_settings(),
            ) as client:
                with pytest.raises(AuthError) as caught:
                    await client.get(emulator.unknown_id())
        assert caught.value.status in (401, 403)
        assert token not in str(caught.value) and token not in repr(caught.value.body)

    async def test_throttling_and_outages_are_typed(self, emulator: Emulator) -> None:
        options = testing_options(retry=RetryPolicy.never())
        async with emulated_client(self.provider, emulator=emulator, options=options) as (
            client,
            _,
        ):
            emulator.inject(429, headers={"Retry-After": "7"})
            with pytest.raises(RateLimited) as limited:
                await client.get(emulator.unknown_id())
            assert limited.value.retry_after == 7
            emulator.inject(503)
            with pytest.raises(ProviderUnavailable) as down:
                await client.get(emulator.unknown_id())
            assert down.value.status == 503

    async def test_reads_are_retried_through_transient_faults(
        self, client: RunClient, emulator: Emulator, target: str
    ) -> None:
        run = await client.create(target)
        emulator.inject(503)
        emulator.inject(429, headers={"Retry-After": "0"})
        assert (await client.get(run)).ref == run.ref

    async def test_secrets_stay_out_of_reprs_and_errors(
        self, client: RunClient, emulator: Emulator, target: str
    ) -> None:
        secret = "hunter2-very-secret"
        request = RunRequest(target=target, secrets={"password": secret})
        assert secret not in repr(request)
        assert secret not in repr(client)
        if not client.capabilities.secrets:
            seen = len(emulator.requests)
            with pytest.raises(InvalidRequest) as caught:
                await client.create(request)
            assert caught.value.field == "secrets"
            assert secret not in str(caught.value)
            assert len(emulator.requests) == seen
            return
        run = await client.create(request)
        assert secret not in repr(run)
        assert secret not in repr(run.raw)

    async def test_timestamps_are_aware_utc(self, client: RunClient, target: str) -> None:
        run = await client.create(target)
        assert run.created_at is not None
        assert run.created_at.utcoffset() == timedelta(0)
        assert run.created_at.tzinfo is UTC
