"""The synchronous API: ``connect_sync`` and ``fanout_sync``.

Each sync client wraps the async one and runs it on a private event loop on a
daemon thread (``LoopThread``), started on first use and stopped by ``close()``.
No operation is implemented twice: every method hands the async method to the
loop and blocks for its result, so the errors are the same exception objects
(raised again in the caller's frame) and the behaviour is the async client's.

A sync object belongs to the process that made it. In a forked child, its calls
raise ``ConfigError`` (connect again there) and ``close()`` lets go without closing
anything: the sessions, sockets and journal it holds are still the parent's.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .._client._config import Config
from .._client._connect import connect
from .._client._run_client import RunClient
from .._model._events import DEFAULT_TOLERANCE, MAX_EVENT_BYTES, RunEvent
from .._model._lifecycle import UNKNOWN_GRACE, OnHold
from .._model._run import BulkResult, File, Page, Run, RunRef, RunRequest, RunStatus, RunUpdate

if TYPE_CHECKING:
    from .._client._config import Profile
    from .._client._waiting import RunChange
    from .._journal import Journal, JournalEntry
    from .._model._capabilities import Capabilities
    from .._plugins._registry import Registry
    from .._wire._client_options import ClientOptions
from ._runner import Runner, SyncHandle, SyncRunIterator, drive


class SyncRunClient(SyncHandle):
    """Runs on one provider, without ``await``: the async ``RunClient`` driven on a
    private event-loop thread. Use it with ``with``, or call ``close()``.

    Safe to share between threads; each call blocks its caller only.
    """

    def __init__(self, client: RunClient) -> None:
        self._client = client
        self._start(Runner(f"runbridge-sync-{client.provider}", client.__aenter__, client.aclose))

    def __repr__(self) -> str:
        named = f" profile={self.profile.name!r}" if self.profile else ""
        return f"<SyncRunClient {self.provider}{named} {self.base_url}>"

    # -- what this client is ------------------------------------------------------------

    @property
    def async_client(self) -> RunClient:
        """The async client this one drives; it lives on this client's loop thread."""
        return self._client

    @property
    def provider(self) -> str:
        """The provider this client talks to."""
        return self._client.provider

    @property
    def base_url(self) -> str:
        """The provider base URL in use."""
        return self._client.base_url

    @property
    def capabilities(self) -> Capabilities:
        """What the provider supports natively, what is emulated, and how it pages."""
        return self._client.capabilities

    @property
    def profile(self) -> Profile | None:
        """The profile this client was made from, if any."""
        return self._client.profile

    @property
    def journal(self) -> Journal:
        """Where this client records its creates."""
        return self._client.journal

    def target(self, name: str) -> str:
        """The provider target for ``name``: resolved through the profile's aliases."""
        return self._client.target(name)

    def ref(self, run: RunRef | Run | str) -> RunRef:
        """A validated ref on this provider from a ref, a run, ``"provider:id"`` or an id."""
        return self._client.ref(run)

    def parse_run(self, payload: Any) -> Run:
        """The canonical run for a provider payload received some other way."""
        return self._client.parse_run(payload)

    def parse_event(
        self,
        headers: Mapping[str, str],
        body: bytes,
        *,
        now: float | None = None,
        tolerance: float = DEFAULT_TOLERANCE,
    ) -> RunEvent:
        """The run event a provider delivered; see ``RunClient.parse_event``."""
        return self._runner.call(
            self._client.parse_event, headers, body, now=now, tolerance=tolerance
        )

    # -- operations ---------------------------------------------------------------------

    def create(
        self,
        request: RunRequest | str,
        *,
        inputs: Mapping[str, Any] | None = None,
        name: str | None = None,
        files: Iterable[File] = (),
        secrets: Mapping[str, Any] | None = None,
        **options: Any,
    ) -> Run:
        """Start a run from a ``RunRequest``, or from a target and keyword arguments."""
        return self._runner.call(
            self._client.create,
            request,
            inputs=inputs,
            name=name,
            files=tuple(files),
            secrets=secrets,
            **options,
        )

    def create_many(
        self, requests: Iterable[RunRequest], *, concurrency: int = 8, resume: bool = False
    ) -> BulkResult:
        """Start many runs; failures are reported per request in the result, not raised."""
        return self._runner.call(
            self._client.create_many, list(requests), concurrency=concurrency, resume=resume
        )

    def resolve(
        self, token: str, *, request: RunRequest | None = None, timeout: float = 0.0
    ) -> Run | None:
        """The run a create with client ``token`` made, ``None`` if it certainly made none;
        see ``RunClient.resolve``."""
        return self._runner.call(self._client.resolve, token, request=request, timeout=timeout)

    def unconfirmed(self) -> list[JournalEntry]:
        """Creates of this provider whose outcome is unknown, oldest first."""
        return self._runner.call(self._pending)

    async def _pending(self) -> list[JournalEntry]:
        return await self._client.unconfirmed()

    def watch(
        self,
        run: RunRef | Run | str,
        *,
        timeout: float = 600.0,
        poll_interval: float = 1.0,
        max_interval: float = 30.0,
        on_hold: OnHold = "raise",
        unknown_grace: float | None = UNKNOWN_GRACE,
    ) -> Iterator[RunChange]:
        """The run's changes as they happen, a plain iterator; see ``RunClient.watch``."""
        changes = self._client.watch(
            run,
            timeout=timeout,
            poll_interval=poll_interval,
            max_interval=max_interval,
            on_hold=on_hold,
            unknown_grace=unknown_grace,
        )
        return drive(self._runner, changes)

    def get(self, run: RunRef | Run | str) -> Run:
        """Read a run."""
        return self._runner.call(self._client.get, run)

    def list_page(
        self,
        *,
        target: str | None = None,
        status: RunStatus | str | Iterable[RunStatus | str] | None = None,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
        page_size: int | None = None,
        cursor: str | None = None,
    ) -> Page:
        """One page of runs; pass its ``next_cursor`` as ``cursor`` to continue."""
        return self._runner.call(
            self._client.list_page,
            target=target,
            status=status,
            created_after=created_after,
            created_before=created_before,
            page_size=page_size,
            cursor=cursor,
        )

    def list(
        self,
        *,
        target: str | None = None,
        status: RunStatus | str | Iterable[RunStatus | str] | None = None,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
        page_size: int | None = None,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> SyncRunIterator:
        """Every matching run across pages, fetched lazily; ``.pages()`` for pages.

        Arguments are checked now, before any request is made.
        """
        runs = self._client.list(
            target=target,
            status=status,
            created_after=created_after,
            created_before=created_before,
            page_size=page_size,
            cursor=cursor,
            limit=limit,
        )
        return SyncRunIterator(self._runner, runs)

    def update(
        self, run: RunRef | Run | str, update: RunUpdate | None = None, **fields: Any
    ) -> Run:
        """Change some fields of a run; a status change must be a legal transition."""
        return self._runner.call(self._client.update, run, update, **fields)

    def cancel(self, run: RunRef | Run | str) -> Run:
        """Cancel a run that has not finished; ``IllegalTransition`` if it has."""
        return self._runner.call(self._client.cancel, run)

    def retry(self, run: RunRef | Run | str, **options: Any) -> Run:
        """Run a finished run again: in place where the provider can, else as a new run."""
        return self._runner.call(self._client.retry, run, **options)

    def pause(self, run: RunRef | Run | str, *, reason: str | None = None) -> Run:
        """Pause a run that has not finished, where the provider can."""
        return self._runner.call(self._client.pause, run, reason=reason)

    def resume(self, run: RunRef | Run | str) -> Run:
        """Let a paused run go on, where the provider can."""
        return self._runner.call(self._client.resume, run)

    def delete(self, run: RunRef | Run | str) -> None:
        """Delete a run."""
        self._runner.call(self._client.delete, run)

    def wait(
        self,
        run: RunRef | Run | str,
        *,
        timeout: float = 600.0,
        poll_interval: float = 1.0,
        max_interval: float = 30.0,
        on_poll: Callable[[Run], object] | None = None,
        on_hold: OnHold = "raise",
        unknown_grace: float | None = UNKNOWN_GRACE,
    ) -> Run:
        """Poll until the run is terminal; ``WaitTimeout`` carries the last run, ``RunHeld``
        a run that waits for a person or is paused (see ``RunClient.wait``).

        Ctrl+C stops the wait at once (the polling is cancelled) and raises
        ``KeyboardInterrupt``. ``on_poll`` runs on the client's loop thread: it must
        not call this client.
        """
        return self._runner.call(
            self._client.wait,
            run,
            timeout=timeout,
            poll_interval=poll_interval,
            max_interval=max_interval,
            on_poll=on_poll,
            on_hold=on_hold,
            unknown_grace=unknown_grace,
        )


def connect_sync(
    provider: str | None = None,
    *,
    profile: str | Profile | None = None,
    config: Config | str | os.PathLike[str] | None = None,
    token: str | None = None,
    base_url: str | None = None,
    options: ClientOptions | None = None,
    registry: Registry | None = None,
    environ: Mapping[str, str] | None = None,
    journal: Journal | str | os.PathLike[str] | None = None,
    webhook_secrets: Sequence[str] | None = None,
    max_event_bytes: int = MAX_EVENT_BYTES,
    observers: Iterable[object] = (),
    trace_configs: Iterable[Any] = (),
    **settings: Any,
) -> SyncRunClient:
    """A synchronous client; use it as ``with connect_sync(...) as client``.

    Takes the arguments of ``connect``. Works in scripts, in threads sharing one
    client, and where an event loop already runs (Jupyter): the client runs its
    own loop on a daemon thread.
    """
    return SyncRunClient(
        connect(
            provider,
            profile=profile,
            config=config,
            token=token,
            base_url=base_url,
            options=options,
            registry=registry,
            environ=environ,
            journal=journal,
            webhook_secrets=webhook_secrets,
            max_event_bytes=max_event_bytes,
            observers=observers,
            trace_configs=trace_configs,
            **settings,
        )
    )
