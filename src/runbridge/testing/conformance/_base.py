"""What every part of the kit shares: the provider under test, its fixtures, capability
gating, and a time limit on each test."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, ClassVar

import pytest
import pytest_asyncio

from ... import Run, RunClient, Support
from ..._model._mapping import StatusMap
from ..._plugins._registry import Registry
from ..._wire._retry import RetryPolicy
from ...emulation import Emulator
from .. import emulated_client, load_emulator, testing_options

SETTLE = 3600.0
"""Seconds of emulator time after which every planned run has finished."""

UPGRADING = "see 'Upgrading a plugin' in runbridge's docs/adapter-authoring.md"
"""Where a kit failure caused by a plugin written for an older runbridge points."""

_LIMITED = "_runbridge_time_limited"

AsyncTest = Callable[..., Awaitable[None]]


def _time_limited(test: AsyncTest) -> AsyncTest:
    """``test``, failed with a message naming it and the class's ``time_limit`` when it
    runs longer than that."""

    @functools.wraps(test)
    async def limited(self: ConformanceBase, *args: Any, **kwargs: Any) -> None:
        limit = self.time_limit
        if limit is None:
            await test(self, *args, **kwargs)
            return
        timer = asyncio.timeout(limit)
        try:
            async with timer:
                await test(self, *args, **kwargs)
        except TimeoutError:
            if not timer.expired():
                raise  # the test's own timeout, not the kit's
            pytest.fail(
                f"{type(self).__name__}.{test.__name__} did not finish within the kit's "
                f"time limit of {limit:g} s (time_limit): an operation of the "
                f"{self.provider} adapter or its emulator hangs or is too slow (the "
                "traceback above shows where it waited)"
            )

    setattr(limited, _LIMITED, True)
    return limited


class ConformanceBase:
    """The provider under test and the fixtures every part of the kit uses.

    Set ``provider``; ``registry`` when the adapter is registered on a registry of
    your own rather than installed (``None``: the default registry);
    ``time_limit`` bounds each async test in seconds (``None``: no limit).
    Every async ``test*`` method of a subclass, the kit's and your own, runs
    under the limit.
    """

    provider: ClassVar[str]
    """Name of the provider under test; set it in the subclass."""
    registry: ClassVar[Registry | None] = None
    """Where the provider's adapter is registered; ``None``: the default registry."""
    time_limit: ClassVar[float | None] = 30.0
    """Seconds each test may take before it fails, naming itself and the limit."""

    pytestmark: ClassVar[list[pytest.MarkDecorator]] = [pytest.mark.asyncio]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name, value in list(vars(cls).items()):
            if (
                name.startswith("test")
                and inspect.iscoroutinefunction(value)
                and not getattr(value, _LIMITED, False)
            ):
                setattr(cls, name, _time_limited(value))

    @pytest.fixture
    def emulator(self) -> Emulator:
        """The emulator to test against; override to seed targets or data."""
        return load_emulator(self.provider, registry=self.registry)

    @pytest.fixture
    def target(self, emulator: Emulator) -> str:
        """A target that exists on the emulator."""
        return emulator.default_target

    @pytest_asyncio.fixture
    async def client(self, emulator: Emulator) -> AsyncIterator[RunClient]:
        """A client connected to the served emulator."""
        async with emulated_client(self.provider, emulator=emulator, registry=self.registry) as (
            client,
            _,
        ):
            yield client

    @pytest_asyncio.fixture
    async def once(self, emulator: Emulator) -> AsyncIterator[RunClient]:
        """A client of the served emulator that never retries: it sees each answer as is."""
        async with self.connected(emulator, retry=RetryPolicy.never()) as client:
            yield client

    @contextlib.asynccontextmanager
    async def connected(self, emulator: Emulator, **options: Any) -> AsyncIterator[RunClient]:
        """A client of ``emulator`` served on loopback, with ``testing_options(**options)``."""
        async with emulated_client(
            self.provider,
            emulator=emulator,
            registry=self.registry,
            options=testing_options(**options),
        ) as (client, _):
            yield client

    def supports(self, client: RunClient, operation: str) -> bool:
        """Whether the operation works natively or emulated."""
        return client.capabilities.support(operation) is not Support.UNSUPPORTED

    def declared_statuses(self, client: RunClient) -> StatusMap:
        """The adapter's ``statuses``; a failure naming the declaration when it has none."""
        adapter = type(client.adapter)
        statuses = getattr(adapter, "statuses", None)
        if not isinstance(statuses, StatusMap):
            pytest.fail(
                f"adapter {adapter.__name__} ({self.provider}) declares no `statuses`: since "
                "runbridge 0.2 an adapter declares its StatusMap as a class attribute "
                "(`statuses = STATUSES`), which the kit checks status by status and the "
                f"core reads holds from; {UPGRADING}",
                pytrace=False,
            )
        return statuses

    def need(self, client: RunClient, operation: str) -> None:
        """Skip unless ``operation`` is supported."""
        if not self.supports(client, operation):
            pytest.skip(f"{self.provider} does not support {operation}")

    async def settle(self, client: RunClient, emulator: Emulator, run: Run) -> Run:
        """Let the emulator finish the run and read it back."""
        emulator.advance(SETTLE)
        return await client.wait(run, timeout=10, poll_interval=0.01)
