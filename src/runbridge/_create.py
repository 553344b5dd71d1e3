"""Creating runs: once each, alone or in bulk, and remembering what was sent.

A create whose answer is lost may still have made its run. Where the provider
has no idempotency key, each create carries a client token (``Adapter.tag``)
and an ambiguous failure is followed by a lookup (``_lookup``) before anything
is sent again. Bulk creates go through the bulk engine (``_bulk``) where the
provider has a bulk endpoint, and through bounded concurrent single creates
otherwise.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Sequence
from datetime import UTC, datetime
from secrets import token_hex

from ._adapter import Adapter
from ._bulk import BulkPlan, send_chunks
from ._call import Channel
from ._capabilities import Support
from ._errors import InvalidRequest, ProviderUnavailable, RateLimited
from ._http import GarbledBody
from ._lookup import find_created
from ._model import BulkError, BulkResult, Run, RunRef, RunRequest
from ._retry import Deadline, retrying

log = logging.getLogger("runbridge")

REMEMBERED = 4096
"""Requests a client remembers, by run, so that an emulated retry can send them again."""


def _ambiguous(exc: Exception) -> bool:
    """Whether a failed create may have made its run (the answer was lost, not a refusal)."""
    if isinstance(exc, RateLimited):
        return False
    if isinstance(exc, ProviderUnavailable):
        return exc.status not in (408, 429)
    return isinstance(exc, GarbledBody)


def _retryable(exc: Exception) -> bool:
    return isinstance(exc, ProviderUnavailable | RateLimited | GarbledBody)


class Creator:
    """Creates runs on one provider for one client, and remembers their requests."""

    def __init__(self, adapter: Adapter, channel: Channel) -> None:
        self.adapter = adapter
        self.channel = channel
        self.sent: OrderedDict[RunRef, RunRequest] = OrderedDict()

    def _remember(self, run: Run, request: RunRequest) -> Run:
        self.sent[run.ref] = request
        self.sent.move_to_end(run.ref)
        if len(self.sent) > REMEMBERED:
            self.sent.popitem(last=False)
        return run

    async def create(self, request: RunRequest) -> Run:
        """Create one run, exactly once where the adapter can tag it."""
        token = token_hex(8)
        tagged = self.adapter.tag(request, token)
        if tagged is None:
            call = self.channel.call("create", secrets=request.secrets.values())
            return self._remember(await self.adapter.create(call, request), request)
        return self._remember(await self._create_once(tagged, token), request)

    async def _create_once(self, request: RunRequest, token: str) -> Run:
        """Create a tagged run exactly once, looking it up after ambiguous failures.

        A lost response (connection reset, timeout, server error, garbled body)
        may hide a run that was created. Before sending again, the run is looked
        up by its token; only when it is absent is the create repeated. The
        attempts and lookups share one deadline.
        """
        channel, adapter = self.channel, self.adapter
        deadline = Deadline(channel.http.options.deadline)
        since = datetime.now(UTC)
        secrets = request.secrets.values()

        async def attempt() -> Run:
            call = channel.call("create", secrets=secrets, deadline=deadline)
            try:
                return await adapter.create(call, request)
            except (ProviderUnavailable, GarbledBody) as exc:
                if not _ambiguous(exc):
                    raise
                lookup = channel.call("create", secrets=secrets, deadline=deadline)
                found = await find_created(
                    adapter, lookup, request, token, since=since, exclude=self.sent.keys()
                )
                if found is None:
                    raise
                log.info("%s.create: recovered %s after %s", adapter.name, found.ref, exc)
                return found

        return await retrying(
            attempt,
            policy=channel.http.options.retry,
            deadline=deadline,
            retryable=_retryable,
            label=f"{adapter.name}.create",
        )

    async def create_many(
        self,
        requests: Sequence[RunRequest],
        *,
        concurrency: int,
        support: Support,
        refused: dict[int, BulkError],
    ) -> BulkResult:
        """Create every request not ``refused``; each outcome is reported by its index."""
        plan = BulkPlan(errors=dict(refused))
        valid = [i for i in range(len(requests)) if i not in refused]
        if support is Support.NATIVE:
            secrets = [v for r in requests for v in r.secrets.values()]
            call = self.channel.call("create_many", secrets=secrets)
            for index in valid:
                try:
                    placed = self.adapter.bulk_item(call, requests[index])
                except InvalidRequest as exc:
                    plan.errors[index] = BulkError(str(exc), index, exc)
                    continue
                if placed is None:
                    plan.singles.append(index)
                else:
                    group, item = placed
                    plan.groups.setdefault(group, []).append((index, item))
            max_batch = self.adapter.instance_capabilities().max_batch or len(requests)
            chunks = plan.chunks(max_batch, lambda n: call.idempotency_key_for(f"chunk-{n}"))
            outcome = await send_chunks(
                chunks,
                lambda chunk: self.adapter.send_chunk(call, chunk),
                concurrency=concurrency,
                provider=self.adapter.name,
            )
            runs, errors, notes = outcome.runs, {**plan.errors, **outcome.errors}, outcome.notes
            singles = sorted(plan.singles + outcome.singles)
        else:
            runs, errors, notes, singles = {}, plan.errors, [], valid
        for index, run in runs.items():
            self._remember(run, requests[index])
        await self._singly(requests, singles, concurrency, runs, errors)
        return BulkResult(
            tuple(runs[i] for i in sorted(runs)),
            tuple(errors[i] for i in sorted(errors)) + tuple(notes),
            len(requests),
        )

    async def _singly(
        self,
        requests: Sequence[RunRequest],
        indexes: list[int],
        concurrency: int,
        runs: dict[int, Run],
        errors: dict[int, BulkError],
    ) -> None:
        gate = asyncio.Semaphore(concurrency)

        async def one(index: int) -> None:
            async with gate:
                try:
                    runs[index] = await self.create(requests[index])
                except Exception as exc:  # reported by index; cancellation propagates
                    errors[index] = BulkError(str(exc), index, exc)

        await asyncio.gather(*(one(i) for i in indexes))
