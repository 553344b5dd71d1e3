"""Fan-out: the same logical run on several providers at once, and merged listings."""

from __future__ import annotations

import asyncio
import contextlib
import heapq
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Literal, Self, TypeVar

import attrs

from .._model._errors import ConfigError, RunbridgeError
from .._model._lifecycle import OnHold
from .._model._run import File, Run, RunRequest
from .._model._run_errors import RunHeld, UnknownStatus
from ._config import Config, load_config
from ._connect import connect
from ._outcomes import Outcome, no_success, raise_group
from ._run_client import RunClient
from ._waiting import RunChange

T = TypeVar("T")
OnError = Literal["return", "raise"]

_OLDEST = datetime.min.replace(tzinfo=UTC)


@attrs.define
class _Member:
    label: str
    client: RunClient
    gate: asyncio.Semaphore
    owned: bool


class Fanout:
    """Several clients driven as one; every result is reported in input order.

    Build it with ``runbridge.fanout(...)`` and use it with ``async with``.
    Each member has its own concurrency bound.
    """

    def __init__(self, members: Sequence[_Member]) -> None:
        self._members = list(members)

    def __repr__(self) -> str:
        return f"<Fanout {', '.join(m.label for m in self._members)}>"

    async def __aenter__(self) -> Self:
        opened: list[_Member] = []
        try:
            for member in self._members:
                if member.owned:
                    await member.client.__aenter__()
                    opened.append(member)
        except BaseException:
            for member in opened:
                await member.client.aclose()
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
        """Close the clients this fan-out opened."""
        for member in self._members:
            if member.owned:
                await member.client.aclose()

    @property
    def members(self) -> list[str]:
        """Member labels, in input order."""
        return [m.label for m in self._members]

    @property
    def clients(self) -> dict[str, RunClient]:
        """Each member's client by label."""
        return {m.label: m.client for m in self._members}

    async def _each(
        self,
        action: Callable[[RunClient], Awaitable[Run]],
        members: Sequence[_Member] | None = None,
    ) -> list[Outcome]:
        async def one(member: _Member) -> Outcome:
            try:
                async with member.gate:
                    run = await action(member.client)
            except (RunbridgeError, OSError, TimeoutError) as exc:
                return Outcome(member.label, member.client.provider, error=exc)
            return Outcome(member.label, member.client.provider, run=run)

        return list(await asyncio.gather(*(one(m) for m in (members or self._members))))

    async def create(
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
        files = tuple(files)

        async def create(client: RunClient) -> Run:
            return await client.create(
                target, inputs=inputs, name=name, files=files, secrets=secrets, **options
            )

        outcomes = await self._each(create)
        if on_error == "raise":
            raise_group(outcomes, "create")
        return outcomes

    async def wait(
        self,
        outcomes: Sequence[Outcome],
        *,
        timeout: float = 600.0,
        poll_interval: float = 1.0,
        on_error: OnError = "return",
        on_hold: OnHold = "raise",
    ) -> list[Outcome]:
        """Wait for every run in ``outcomes`` to finish; failed creates pass through.

        A run that waits for a person or is paused ends its wait at once: its outcome
        carries the held run and a ``RunHeld`` error (unless ``on_hold="wait"``)."""
        by_label = {m.label: m for m in self._members}

        async def one(outcome: Outcome) -> Outcome:
            if outcome.run is None:
                return outcome
            member = by_label[outcome.member]
            try:
                run = await member.client.wait(
                    outcome.run, timeout=timeout, poll_interval=poll_interval, on_hold=on_hold
                )
            except (RunHeld, UnknownStatus) as exc:
                return attrs.evolve(outcome, run=exc.run, error=exc)
            except (RunbridgeError, OSError, TimeoutError) as exc:
                return attrs.evolve(outcome, error=exc)
            return attrs.evolve(outcome, run=run)

        finished = list(await asyncio.gather(*(one(o) for o in outcomes)))
        if on_error == "raise":
            raise_group(finished, "wait")
        return finished

    async def watch(
        self,
        outcomes: Sequence[Outcome],
        *,
        timeout: float = 600.0,
        poll_interval: float = 1.0,
        on_hold: OnHold = "raise",
    ) -> AsyncIterator[tuple[str, RunChange]]:
        """The changes of every run in ``outcomes``, merged as they happen: pairs of the
        member's label and a ``RunChange``. Each run's stream ends at its terminal state,
        or (unless ``on_hold="wait"``) after the change that shows it held; one that
        fails (a ``WaitTimeout``) ends that run's stream only."""
        by_label = {m.label: m for m in self._members}
        queue: asyncio.Queue[tuple[str, RunChange] | None] = asyncio.Queue()

        async def follow(outcome: Outcome) -> None:
            assert outcome.run is not None
            client = by_label[outcome.member].client
            try:
                async for change in client.watch(
                    outcome.run, timeout=timeout, poll_interval=poll_interval, on_hold=on_hold
                ):
                    await queue.put((outcome.member, change))
            except (RunbridgeError, OSError, TimeoutError):
                pass  # that run's stream ends; the others go on
            finally:
                await queue.put(None)

        followed = [o for o in outcomes if o.run is not None]
        tasks = [asyncio.ensure_future(follow(o)) for o in followed]
        try:
            ended = 0
            while ended < len(tasks):
                item = await queue.get()
                if item is None:
                    ended += 1
                else:
                    yield item
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def run(
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
        created = await self.create(target, inputs=inputs, **kwargs)
        return await self.wait(
            created,
            timeout=timeout,
            poll_interval=poll_interval,
            on_error=on_error,
            on_hold=on_hold,
        )

    async def race(
        self,
        target: str | RunRequest,
        *,
        inputs: Mapping[str, Any] | None = None,
        timeout: float = 600.0,
        poll_interval: float = 1.0,
        **kwargs: Any,
    ) -> Outcome:
        """Run everywhere; the first success wins and the others are cancelled.

        Runs on providers that cannot cancel are left to finish. When no member
        succeeds, a ``FanoutError`` reports every member's outcome.
        """
        created = await self.create(target, inputs=inputs, **kwargs)
        by_label = {m.label: m for m in self._members}

        async def finish(outcome: Outcome) -> Outcome:
            (done,) = await self.wait([outcome], timeout=timeout, poll_interval=poll_interval)
            return done

        tasks = [asyncio.create_task(finish(o)) for o in created if o.run is not None]
        results: dict[str, Outcome] = {o.member: o for o in created}
        winner: Outcome | None = None
        try:
            for next_done in asyncio.as_completed(tasks):
                finished = await next_done
                results[finished.member] = finished
                if finished.succeeded and finished.error is None:
                    winner = finished
                    break
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        if winner is None:
            ordered = [results[m.label] for m in self._members]
            raise_group(
                [
                    o if o.error is not None else attrs.evolve(o, error=no_success(o))
                    for o in ordered
                ],
                "race",
            )
            raise AssertionError("unreachable")  # pragma: no cover
        losers = [
            by_label[o.member]
            for o in results.values()
            if o.member != winner.member and o.run is not None and not o.run.status.is_terminal
        ]
        await self._cancel_losers(losers, results)
        return winner

    async def _cancel_losers(self, losers: list[_Member], results: Mapping[str, Outcome]) -> None:
        async def cancel(member: _Member) -> None:
            run = results[member.label].run
            if run is None or member.client.capabilities.support("cancel").value == "unsupported":
                return
            with contextlib.suppress(RunbridgeError):
                async with member.gate:
                    await member.client.cancel(run)

        await asyncio.gather(*(cancel(m) for m in losers))

    async def list(
        self,
        *,
        target: str | None = None,
        status: Any = None,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
        page_size: int | None = None,
        limit: int | None = None,
        on_error: OnError = "raise",
    ) -> AsyncIterator[Run]:
        """Every member's runs merged newest first, fetched lazily page by page.

        Each provider lists newest first; the merge holds one page per member. A
        member that fails stops contributing; the others go on, and at the end a
        ``FanoutError`` names the members that failed (``on_error="return"``
        just ends the listing).
        """
        streams = [
            aiter(
                m.client.list(
                    target=target,
                    status=status,
                    created_after=created_after,
                    created_before=created_before,
                    page_size=page_size,
                )
            )
            for m in self._members
        ]
        heap: list[tuple[float, int, int, Run]] = []
        errors: dict[int, BaseException] = {}
        counter = 0

        async def push(index: int) -> None:
            nonlocal counter
            try:
                run = await anext(streams[index])
            except StopAsyncIteration:
                return
            except (RunbridgeError, OSError, TimeoutError) as exc:
                errors[index] = exc
                return
            stamp = (run.created_at or _OLDEST).timestamp()
            heapq.heappush(heap, (-stamp, counter, index, run))
            counter += 1

        await asyncio.gather(*(push(i) for i in range(len(streams))))
        produced = 0
        while heap and (limit is None or produced < limit):
            _, _, index, run = heapq.heappop(heap)
            yield run
            produced += 1
            await push(index)
        if errors and on_error == "raise":
            raise_group(
                [
                    Outcome(m.label, m.client.provider, error=errors.get(i))
                    for i, m in enumerate(self._members)
                ],
                "list",
            )


def fanout(
    members: Iterable[RunClient | str],
    *,
    concurrency: int | Mapping[str, int] = 8,
    config: Config | str | None = None,
    observers: Iterable[object] = (),
) -> Fanout:
    """Drive several clients (or profiles, by name) together: ``async with fanout(...)``.

    ``concurrency`` bounds the calls in flight per member (one number for all,
    or per member label). Clients passed in are used as they are (open them
    yourself); profiles named here are connected and closed by the fan-out, with
    ``observers`` watching them (see ``connect``).
    """
    observers = list(observers)
    loaded: Config | None = config if isinstance(config, Config) else None
    built: list[_Member] = []
    for item in members:
        if isinstance(item, RunClient):
            label = item.profile.name if item.profile is not None else item.provider
            client, owned = item, False
        else:
            if loaded is None:
                loaded = load_config(None if isinstance(config, Config) else config)
            client = connect(profile=item, config=loaded, observers=observers)
            label, owned = item, True
        limit = concurrency.get(label, 8) if isinstance(concurrency, Mapping) else concurrency
        if limit < 1:
            raise ConfigError(f"concurrency for {label!r} must be at least 1", field="concurrency")
        if any(m.label == label for m in built):
            raise ConfigError(f"fan-out member {label!r} is given twice", field="members")
        built.append(_Member(label, client, asyncio.Semaphore(limit), owned))
    if not built:
        raise ConfigError("a fan-out needs at least one member", field="members")
    return Fanout(built)
