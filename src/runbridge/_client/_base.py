"""What every operation of a ``RunClient`` stands on: its adapter, channel, journal and
observers, references checked, capabilities required, unknown statuses logged once."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

import attrs

from .._creates._create import Creator
from .._journal import Journal, MemoryJournal
from .._model._capabilities import Capabilities, Support
from .._model._errors import UnsupportedOperation
from .._model._events import MAX_EVENT_BYTES
from .._model._lifecycle import Move, check_transition
from .._model._run import Run, RunRef, RunRequest, RunStatus
from .._plugins._adapter import Adapter
from .._wire._call import Channel
from .._wire._observe import Observers, observed
from ._arguments import Arguments
from ._waiting import Wakes

if TYPE_CHECKING:
    from ._config import Profile

log = logging.getLogger("runbridge")

_WARN_LIMIT = 256
_warned: set[tuple[str, str]] = set()
# Module constants: on Python 3.11 reading an enum member off its class costs several
# times a plain attribute, and some of these are read once per run of a page.
_UNKNOWN = RunStatus.UNKNOWN
_UNSUPPORTED = Support.UNSUPPORTED


def _warn_unknown(provider: str, native: str) -> None:
    """Log once per provider and value that a native status is not in the adapter's map."""
    key = (provider, native)
    if key in _warned or len(_warned) >= _WARN_LIMIT:
        return
    _warned.add(key)
    log.warning(
        "%s: unknown native status %r, read as 'unknown'; the adapter's status map may "
        "be out of date",
        provider,
        native[:80],
    )


class ClientBase:
    """The state and checks a client's operations share (``RunClient`` is the public class)."""

    def __init__(
        self,
        adapter: Adapter,
        channel: Channel,
        *,
        profile: Profile | None = None,
        webhook_secrets: Sequence[str] = (),
        max_event_bytes: int = MAX_EVENT_BYTES,
    ) -> None:
        self.adapter = adapter
        self.profile = profile
        """The profile this client was made from, if any."""
        self._webhook_secrets = tuple(webhook_secrets)
        self._receiver: Wakes | None = None
        """The receiver whose events finish this client's waits (set by ``EventReceiver``)."""
        self.max_event_bytes = max_event_bytes
        """The largest event delivery (body bytes) ``parse_event`` reads."""
        self._channel = channel
        self._capabilities = adapter.instance_capabilities()
        self._cannot_get = self._capabilities.support("get") is _UNSUPPORTED
        self._args = Arguments(adapter, channel.redactor)
        self._creator = Creator(adapter, channel, MemoryJournal())
        self._owns_journal = False
        self._observers: Observers | None = channel.observers
        """Who watches this client's operations; ``None``: nobody (one check each)."""

    def __repr__(self) -> str:
        named = f" profile={self.profile.name!r}" if self.profile else ""
        return f"<RunClient {self.provider}{named} {self.base_url}>"

    async def __aenter__(self) -> Self:
        await self._channel.http.open()
        try:
            await self._creator.journal.open()
        except BaseException:
            await self.aclose()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP session (and a journal the client opened itself)."""
        await self._channel.http.close()
        if self._owns_journal:
            await self._creator.journal.close()

    def observe(self, observers: Iterable[object]) -> None:
        """Have ``observers`` watch this client's operations and attempts from now on
        (added to those it has)."""
        have = self._observers.observers if self._observers is not None else ()
        watching = Observers([*have, *observers])
        self._observers = self._channel.observers = watching

    def use_journal(self, journal: Journal, *, owned: bool = False) -> None:
        """Record creates in ``journal`` from now on (``owned``: close it with the client).

        A journal database also keeps the client's rate limit, so that it holds in sum
        over every process that shares it.
        """
        self._creator.journal = journal
        self._owns_journal = owned
        throttle = self._channel.http.throttle
        if throttle is not None and throttle.rate is not None and hasattr(journal, "take"):
            throttle.share(journal)  # type: ignore[arg-type]

    @property
    def journal(self) -> Journal:
        """Where this client records its creates."""
        return self._creator.journal

    @property
    def provider(self) -> str:
        """The provider this client talks to."""
        return self.adapter.name

    @property
    def base_url(self) -> str:
        """The provider base URL in use."""
        return self._channel.http.base_url

    @property
    def capabilities(self) -> Capabilities:
        """What the provider supports natively, what is emulated, and how it pages."""
        return self._capabilities

    def target(self, name: str) -> str:
        """The provider target for ``name``: resolved through the profile's aliases."""
        return self.profile.target(name) if self.profile is not None else name

    def ref(self, run: RunRef | Run | str) -> RunRef:
        """A validated ref on this provider from a ref, a run, ``"provider:id"`` or an id."""
        return self._args.ref(run)

    def parse_run(self, payload: Any) -> Run:
        """The canonical run for a provider payload received some other way (a webhook,
        a file); malformed payloads raise ``ResponseError``."""
        return self._seen(self.adapter.to_run(self._channel.call("parse"), payload))

    @observed("get", "run")
    async def get(self, run: RunRef | Run | str) -> Run:
        """Read a run."""
        run_id = self._args.run_id(run)
        if self._cannot_get:
            self._require("get")
        found = await self.adapter.get(self._channel.call("get"), run_id)
        if found.status is _UNKNOWN:
            self._seen(found)
        return found

    def _require(self, operation: str) -> Support:
        support = self._capabilities.support(operation)
        if support is _UNSUPPORTED:
            reason = self.adapter.unsupported_reason(operation)
            raise UnsupportedOperation(
                reason or f"{self.provider} does not support {operation}",
                provider=self.provider,
                operation=operation,
            )
        return support

    def _resolve(self, request: RunRequest) -> RunRequest:
        resolved = self.target(request.target)
        return request if resolved == request.target else attrs.evolve(request, target=resolved)

    def _seen(self, run: Run) -> Run:
        if run.status is _UNKNOWN:
            _warn_unknown(self.provider, self._channel.redactor.text(run.native_status or ""))
        return run

    async def _check(self, ref: RunRef, requested: RunStatus, move: Move) -> Run:
        run = await self.get(ref)
        check_transition(
            run.status,
            requested,
            move=move,
            provider=self.provider,
            run_id=ref.id,
            transitions=self.adapter.transitions,
        )
        return run
