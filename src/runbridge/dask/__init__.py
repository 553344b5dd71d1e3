"""Batches spread over a Dask cluster: creates (and waits) on many worker processes, each
run made once.

    from dask.distributed import Client
    import runbridge.dask

    with Client("tcp://scheduler:8786") as dask_client:
        result = runbridge.dask.create_many(
            dask_client, requests, profile="prod", journal="postgresql://...", resume=True
        )

Needs the ``dask`` extra (``pip install 'runbridge[dask]'``). The batch is cut into
shards of ``shard_size`` requests, each a task whose key is derived from the batch and
the shard, so a shard submitted twice runs once. Each worker connects with the
profile (reading its credential from the worker's own environment) and claims every
request in the shared journal before sending it: SQLite for workers on one host,
PostgreSQL for many. See ``docs/scale-out.md``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

import attrs
from distributed import Client, as_completed

from .._client._config import Config, Profile, load_config
from .._journal import batch_key, open_journal
from .._model._errors import ConfigError, InvalidRequest
from .._model._run import BulkError, BulkResult, Run, RunRequest
from .._wire._client_options import ClientOptions
from ._worker import PLUGIN, ClientSpec, RunbridgeWorker, create_shard, run_shard

if TYPE_CHECKING:
    from distributed import Future

__all__ = ["BatchProgress", "ClientSpec", "RunbridgeWorker", "create_many", "run_many"]


@attrs.frozen
class BatchProgress:
    """How far a batch spread over a cluster has come, after each shard that finished."""

    total: int
    """Requests in the batch."""
    done: int
    """Requests whose shard has finished."""
    runs: int
    """Runs made (or, for ``run_many``, finished)."""
    failed: int
    """Requests that failed and certainly made no run."""
    unconfirmed: int
    """Requests whose run may exist (their tokens are in the result)."""


def create_many(
    dask_client: Client,
    requests: Iterable[RunRequest],
    *,
    profile: str | Profile,
    journal: str,
    config: Config | str | None = None,
    options: ClientOptions | None = None,
    shard_size: int = 100,
    concurrency: int = 8,
    resume: bool = False,
    progress: Callable[[BatchProgress], object] | None = None,
) -> BulkResult:
    """Create ``requests`` on the cluster's workers; one ``BulkResult``, in their order.

    ``profile`` names a profile of the configuration (``config``, or ``RUNBRIDGE_CONFIG``
    / ``./runbridge.toml``) or is a ``Profile``; ``journal`` is an SQLite path every
    worker reaches (one host) or a ``postgresql://`` URL. ``resume=True`` continues the
    latest batch of the same requests (after a driver or workers died), making no run
    twice. ``concurrency`` bounds each shard's requests in flight; ``progress`` is called
    with a ``BatchProgress`` as shards finish.
    """
    return _drive(
        dask_client,
        list(requests),
        _spec(profile, journal, config, options, dask_client),
        operation="create",
        shard_size=shard_size,
        concurrency=concurrency,
        resume=resume,
        progress=progress,
        extra=(),
    )


def run_many(
    dask_client: Client,
    requests: Iterable[RunRequest],
    *,
    profile: str | Profile,
    journal: str,
    config: Config | str | None = None,
    options: ClientOptions | None = None,
    shard_size: int = 100,
    concurrency: int = 8,
    resume: bool = False,
    timeout: float = 600.0,
    progress: Callable[[BatchProgress], object] | None = None,
) -> BulkResult:
    """``create_many``, then wait on the workers for each run to finish: the result holds
    the finished runs; a run that did not finish within ``timeout`` seconds is a
    ``BulkError`` whose ``error`` is the ``WaitTimeout`` (with the run as last seen)."""
    return _drive(
        dask_client,
        list(requests),
        _spec(profile, journal, config, options, dask_client),
        operation="run",
        shard_size=shard_size,
        concurrency=concurrency,
        resume=resume,
        progress=progress,
        extra=(timeout,),
    )


def _spec(
    profile: str | Profile,
    journal: str,
    config: Config | str | None,
    options: ClientOptions | None,
    dask_client: Client,
) -> ClientSpec:
    if not isinstance(journal, str) or not journal:
        raise ConfigError(
            "a batch spread over workers needs a journal they share: an SQLite path every "
            "worker reaches (one host) or a postgresql:// URL",
            field="journal",
        )
    if not isinstance(profile, Profile):
        loaded = config if isinstance(config, Config) else load_config(config)
        profile = loaded.profile(profile)
    options = options or _profile_options(profile)
    if options is not None and options.max_in_flight is not None:
        # Each worker process gets its share: the limit holds in sum over the cluster.
        workers = max(len(dask_client.scheduler_info(n_workers=-1)["workers"]), 1)
        options = attrs.evolve(options, max_in_flight=max(options.max_in_flight // workers, 1))
    return ClientSpec(profile=profile, journal=journal, options=options)


def _profile_options(profile: Profile) -> ClientOptions | None:
    if not profile.client:
        return None
    from .._client._config import client_options

    return client_options(profile)


def _drive(
    dask_client: Client,
    requests: list[RunRequest],
    spec: ClientSpec,
    *,
    operation: str,
    shard_size: int,
    concurrency: int,
    resume: bool,
    progress: Callable[[BatchProgress], object] | None,
    extra: tuple[Any, ...],
) -> BulkResult:
    for name, number in (("shard_size", shard_size), ("concurrency", concurrency)):
        if not isinstance(number, int) or isinstance(number, bool) or number < 1:
            raise ConfigError(f"{name} must be a whole number of at least 1", field=name)
    if not requests:
        return BulkResult((), (), 0)
    profile = spec.profile
    resolved = [attrs.evolve(r, target=profile.target(r.target)) for r in requests]
    batch = _run(_start(spec.journal, profile.provider, resolved, resume))
    dask_client.register_plugin(RunbridgeWorker(), name=PLUGIN)
    task = create_shard if operation == "create" else run_shard
    futures: dict[Future[Any], dict[int, RunRequest]] = {}
    for start in range(0, len(requests), shard_size):
        slots = {i: requests[i] for i in range(start, min(start + shard_size, len(requests)))}
        key = f"runbridge-{operation}-{batch}-{start // shard_size}"
        future = dask_client.submit(task, spec, batch, slots, concurrency, *extra, key=key)
        futures[future] = slots
    runs: dict[int, Run] = {}
    errors: dict[int, BulkError] = {}
    done = 0
    for future in as_completed(list(futures), raise_errors=False):  # type: ignore[no-untyped-call]
        shard = futures[future]
        for position, value in _outcome(future, shard).items():
            if isinstance(value, Run):
                runs[position] = value
            else:
                errors[position] = value
        done += len(shard)
        if progress is not None:
            unconfirmed = sum(1 for e in errors.values() if e.token is not None)
            failed = len(errors) - unconfirmed
            progress(BatchProgress(len(requests), done, len(runs), failed, unconfirmed))
    lost = [i for i, e in errors.items() if e.token is None and e.index is not None]
    if lost:  # shards whose task failed: the journal knows the tokens of what they sent
        tokens = _run(_tokens(spec.journal, profile.provider, batch, lost))
        for index, token in tokens.items():
            errors[index] = attrs.evolve(errors[index], token=token)
    return BulkResult(
        tuple(runs[i] for i in sorted(runs)),
        tuple(errors[i] for i in sorted(errors)),
        len(requests),
        tuple(sorted(runs)),
    )


def _outcome(future: Future[Any], slots: Mapping[int, RunRequest]) -> dict[int, Run | BulkError]:
    """A shard's outcome by index; a shard whose task failed (its workers kept dying,
    or it raised) leaves each of its requests to be resumed."""
    if future.status == "finished":
        result: BulkResult = future.result()
        return result.by_index()
    try:
        cause: BaseException | None = future.exception()  # type: ignore[no-untyped-call]
    except Exception as exc:  # cancelled
        cause = exc
    if isinstance(cause, InvalidRequest):  # a worker that cannot connect sends nothing
        message = f"the shard failed before sending anything: {cause}"
    else:
        message = (
            f"the shard's task did not finish ({type(cause).__name__}: {cause}); its "
            "requests may have made runs: resume the batch (resume=True) to settle them"
        )
    return {index: BulkError(message[:500], index, cause) for index in slots}


async def _start(journal: str, provider: str, requests: list[RunRequest], resume: bool) -> str:
    """The batch's id, from the shared journal (the latest of these requests, or a new one)."""
    store = open_journal(journal)
    await store.open()
    try:
        return await store.start_batch(provider, batch_key(provider, requests), resume=resume)
    finally:
        await store.close()


async def _tokens(journal: str, provider: str, batch: str, indexes: list[int]) -> dict[int, str]:
    """The tokens the journal holds for ``indexes`` of ``batch`` (made, or unknown)."""
    store = open_journal(journal)
    await store.open()
    try:
        entries = await store.batch(provider, batch)
    finally:
        await store.close()
    wanted = set(indexes)
    return {i: e.token for i, e in entries.items() if i in wanted and e.state != "abandoned"}


def _run(work: Any) -> Any:
    """Run a coroutine to its end from synchronous code, also where a loop already runs
    on this thread (a notebook): then on a thread of its own."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(work)
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, work).result()
