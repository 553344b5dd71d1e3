"""What runs on a Dask worker for ``runbridge.dask``: its clients, and one shard of a batch.

A worker keeps one ``RunClient`` per profile and journal, connected lazily on the
worker's own event loop the first time a shard needs it (nothing with a session or a
credential is ever pickled: a shard carries the profile, whose token the worker reads
from its own environment) and closed when the worker closes (``RunbridgeWorker``).
A shard creates its requests as their slots of the batch, claimed in the shared
journal, so a shard run twice (a worker killed mid-shard, a driver started again)
makes each run once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import attrs
from distributed import WorkerPlugin, get_worker

from .._client._config import Profile
from .._client._connect import connect
from .._client._run_client import RunClient
from .._model._errors import RunbridgeError
from .._model._run import BulkError, BulkResult, Run, RunRequest
from .._model._run_errors import WaitTimeout
from .._wire._client_options import ClientOptions

if TYPE_CHECKING:
    from distributed import Worker

PLUGIN = "runbridge"
"""The worker plugin's name."""


@attrs.frozen
class ClientSpec:
    """How a worker connects: a profile (its credential read on the worker), a journal,
    client options. Never a token."""

    profile: Profile
    journal: str
    options: ClientOptions | None = None


class RunbridgeWorker(WorkerPlugin):
    """The worker plugin: a worker's clients, made on first use, closed with the worker.

    Registered by ``runbridge.dask`` (``idempotent``: a second registration keeps the
    clients the first one made).
    """

    name = PLUGIN
    idempotent = True

    def __init__(self) -> None:
        super().__init__()
        self.clients: dict[ClientSpec, RunClient] = {}
        self._opening: dict[ClientSpec, asyncio.Lock] = {}
        self.shards = 0
        """Shards this worker has run."""

    def setup(self, worker: Worker) -> None:
        """Nothing is connected until a shard needs it."""

    async def client(self, spec: ClientSpec) -> RunClient:
        """The worker's client for ``spec``, connected on first use."""
        client = self.clients.get(spec)
        if client is not None:
            return client
        lock = self._opening.setdefault(spec, asyncio.Lock())
        async with lock:
            client = self.clients.get(spec)
            if client is None:
                made = connect(profile=spec.profile, journal=spec.journal, options=spec.options)
                client = await made.__aenter__()
                self.clients[spec] = client
        return client

    async def teardown(self, worker: Worker) -> None:
        """Close every client (and its journal) the worker made."""
        clients, self.clients = list(self.clients.values()), {}
        for client in clients:
            await client.aclose()


def _plugin() -> RunbridgeWorker:
    worker = get_worker()
    plugin = worker.plugins.get(PLUGIN)
    if not isinstance(plugin, RunbridgeWorker):  # registered under another class, or not
        plugin = RunbridgeWorker()
        worker.plugins[PLUGIN] = plugin
    return plugin


async def create_shard(
    spec: ClientSpec, batch: str, slots: Mapping[int, RunRequest], concurrency: int
) -> BulkResult:
    """Create ``slots`` (index: request) of ``batch`` on this worker."""
    plugin = _plugin()
    plugin.shards += 1
    client = await plugin.client(spec)
    return await client._shard(batch, slots, concurrency)


async def run_shard(
    spec: ClientSpec,
    batch: str,
    slots: Mapping[int, RunRequest],
    concurrency: int,
    timeout: float,
) -> BulkResult:
    """Create ``slots`` of ``batch``, then wait for each run to finish (within ``timeout``)."""
    plugin = _plugin()
    plugin.shards += 1
    client = await plugin.client(spec)
    created = await client._shard(batch, slots, concurrency)
    gate = asyncio.Semaphore(concurrency)
    finished: dict[int, Run] = {}
    errors: dict[int, BulkError] = {}

    async def wait(index: int, run: Run) -> None:
        async with gate:
            try:
                finished[index] = await client.wait(run, timeout=timeout)
            except WaitTimeout as exc:
                errors[index] = BulkError(str(exc), index, exc)
            except RunbridgeError as exc:
                errors[index] = BulkError(str(exc), index, exc)

    made: dict[int, Any] = created.by_index()
    await asyncio.gather(*(wait(i, r) for i, r in made.items() if isinstance(r, Run)))
    errors.update((i, e) for i, e in made.items() if isinstance(e, BulkError))
    return BulkResult(
        tuple(finished[i] for i in sorted(finished)),
        tuple(errors[i] for i in sorted(errors)),
        len(slots),
        tuple(sorted(finished)),
    )
