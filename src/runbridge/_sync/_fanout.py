"""The synchronous fan-out: ``fanout_sync``, the async ``Fanout`` driven on a private
event-loop thread like ``SyncRunClient`` (see ``_sync``)."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from .._client._config import Config
from .._client._fanout import Fanout, OnError, fanout
from .._client._outcomes import Outcome
from .._client._run_client import RunClient
from .._client._waiting import RunChange
from .._model._errors import ConfigError
from .._model._lifecycle import OnHold
from .._model._run import File, Run, RunRequest
from ._client import SyncRunClient
from ._runner import Runner, SyncHandle, drive


class SyncFanout(SyncHandle):
    """A fan-out without ``await``: the async ``Fanout`` driven on a private loop thread.

    Build it with ``runbridge.fanout_sync(...)``; use it with ``with`` or ``close()``.
    """

    def __init__(self, fan: Fanout, adopted: Sequence[RunClient]) -> None:
        self._fanout = fan
        adopted = list(adopted)
        self._start(
            Runner(
                "runbridge-sync-fanout",
                functools.partial(_open_fanout, fan, adopted),
                functools.partial(_close_fanout, fan, adopted),
                kind="fan-out",
                maker="fanout_sync",
            )
        )

    def __repr__(self) -> str:
        return f"<SyncFanout {', '.join(self.members)}>"

    @property
    def members(self) -> list[str]:
        """Member labels, in input order."""
        return self._fanout.members

    def create(
        self,
        target: str | RunRequest,
        *,
        inputs: Mapping[str, Any] | None = None,
        name: str | None = None,
        files: Iterable[File] = (),
        secrets: Mapping[str, Any] | None = None,
        on_error: OnError = "return",
        **options: Any,
    ) -> list[Outcome]:
        """Create the same logical run on every member (targets resolve per profile)."""
        return self._runner.call(
            self._fanout.create,
            target,
            inputs=inputs,
            name=name,
            files=tuple(files),
            secrets=secrets,
            on_error=on_error,
            **options,
        )

    def wait(
        self,
        outcomes: Sequence[Outcome],
        *,
        timeout: float = 600.0,
        poll_interval: float = 1.0,
        on_error: OnError = "return",
        on_hold: OnHold = "raise",
    ) -> list[Outcome]:
        """Wait for every run in ``outcomes`` to finish; failed creates pass through."""
        return self._runner.call(
            self._fanout.wait,
            outcomes,
            timeout=timeout,
            poll_interval=poll_interval,
            on_error=on_error,
            on_hold=on_hold,
        )

    def watch(
        self,
        outcomes: Sequence[Outcome],
        *,
        timeout: float = 600.0,
        poll_interval: float = 1.0,
        on_hold: OnHold = "raise",
    ) -> Iterator[tuple[str, RunChange]]:
        """Every run's changes, merged, as ``(member, change)`` pairs; see ``Fanout.watch``."""
        changes = self._fanout.watch(
            outcomes, timeout=timeout, poll_interval=poll_interval, on_hold=on_hold
        )
        return drive(self._runner, changes)

    def run(
        self,
        target: str | RunRequest,
        *,
        inputs: Mapping[str, Any] | None = None,
        timeout: float = 600.0,
        poll_interval: float = 1.0,
        on_error: OnError = "return",
        on_hold: OnHold = "raise",
        **kwargs: Any,
    ) -> list[Outcome]:
        """Create the logical run everywhere and wait for all of them."""
        return self._runner.call(
            self._fanout.run,
            target,
            inputs=inputs,
            timeout=timeout,
            poll_interval=poll_interval,
            on_error=on_error,
            on_hold=on_hold,
            **kwargs,
        )

    def race(
        self,
        target: str | RunRequest,
        *,
        inputs: Mapping[str, Any] | None = None,
        timeout: float = 600.0,
        poll_interval: float = 1.0,
        **kwargs: Any,
    ) -> Outcome:
        """Run everywhere; the first success wins and the others are cancelled."""
        return self._runner.call(
            self._fanout.race,
            target,
            inputs=inputs,
            timeout=timeout,
            poll_interval=poll_interval,
            **kwargs,
        )

    def list(
        self,
        *,
        target: str | None = None,
        status: Any = None,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
        page_size: int | None = None,
        limit: int | None = None,
        on_error: OnError = "raise",
    ) -> Iterator[Run]:
        """Every member's runs merged newest first, fetched lazily."""
        stream = self._fanout.list(
            target=target,
            status=status,
            created_after=created_after,
            created_before=created_before,
            page_size=page_size,
            limit=limit,
            on_error=on_error,
        )
        return drive(self._runner, stream)


async def _open_fanout(fan: Fanout, adopted: Sequence[RunClient]) -> None:
    await fan.__aenter__()
    for client in adopted:
        await client.__aenter__()


async def _close_fanout(fan: Fanout, adopted: Sequence[RunClient]) -> None:
    try:
        for client in adopted:
            await client.aclose()
    finally:
        await fan.aclose()


def fanout_sync(
    members: Iterable[RunClient | str],
    *,
    concurrency: int | Mapping[str, int] = 8,
    config: Config | str | None = None,
    observers: Iterable[object] = (),
) -> SyncFanout:
    """Drive several providers together without ``await``: ``with fanout_sync(...)``.

    Members are profile names (connected and closed by the fan-out) or clients
    from ``connect`` that are not open yet: the fan-out opens them on its own
    loop and closes them with itself. ``concurrency`` is as for ``fanout``.
    """
    items = list(members)
    for item in items:
        if isinstance(item, SyncRunClient):
            raise ConfigError(
                "fanout_sync takes profile names or clients from connect(), not a "
                "SyncRunClient (each runs on its own loop)",
                field="members",
            )
    adopted = [item for item in items if isinstance(item, RunClient)]
    made = fanout(items, concurrency=concurrency, config=config, observers=observers)
    return SyncFanout(made, adopted)
