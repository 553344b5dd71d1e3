"""``runbridge bulk --dask ADDRESS`` / ``--workers N``: a batch spread over a Dask cluster.

The cluster is the user's (``dask scheduler`` and ``dask worker`` started the usual
way, or ``--workers N`` for a local one of N worker processes). Each worker connects
with the command's profile, reading the credential from its own environment, and
claims every create in ``--journal`` before sending it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from collections.abc import Iterator
from typing import Any

from runbridge import BulkResult, RunClient, RunRequest

from .exits import UsageError
from .progress import Counter
from .render import Output


@contextlib.contextmanager
def _dask_client(args: argparse.Namespace) -> Iterator[Any]:
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise UsageError(
            "--dask and --workers need the 'dask' extra: pip install 'runbridge[dask]'"
        ) from None
    if args.dask is not None:
        with Client(args.dask) as client:  # type: ignore[no-untyped-call]
            yield client
        return
    cluster = LocalCluster(  # type: ignore[no-untyped-call]
        n_workers=args.workers,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        host="127.0.0.1",
        silence_logs=40,
    )
    with cluster, Client(cluster) as client:  # type: ignore[no-untyped-call]
        yield client


async def bulk_on_cluster(
    client: RunClient, args: argparse.Namespace, requests: list[RunRequest], output: Output
) -> BulkResult:
    """Create ``requests`` on the cluster, with a progress bar per finished shard."""
    if args.journal is None:
        raise UsageError(
            "--dask and --workers need --journal: an SQLite file the workers share (one "
            "host) or a postgresql:// URL"
        )
    if client.profile is None:  # pragma: no cover - the CLI always connects through one
        raise UsageError("--dask and --workers need a profile")
    import runbridge.dask

    profile = client.profile
    with Counter(output, "creating", len(requests)) as counter:
        done = 0

        def progress(state: runbridge.dask.BatchProgress) -> None:
            nonlocal done
            counter.advance(state.done - done)
            done = state.done

        def drive() -> BulkResult:
            with _dask_client(args) as dask_client:
                return runbridge.dask.create_many(
                    dask_client,
                    requests,
                    profile=profile,
                    journal=args.journal,
                    shard_size=args.shard_size,
                    concurrency=args.concurrency,
                    resume=True,
                    progress=progress,
                )

        return await asyncio.to_thread(drive)
