"""A client's lifecycle moves: update, cancel, pause, resume, retry and delete, each a
legal transition of the run as read first."""

from __future__ import annotations

from typing import Any

import attrs

from .._model._capabilities import Support
from .._model._errors import UnsupportedOperation
from .._model._run import Run, RunRef, RunStatus, RunUpdate
from .._wire._observe import observed
from ._base import ClientBase


class Moves(ClientBase):
    """The operations that move a run through its lifecycle."""

    @observed("update", "run")
    async def update(
        self, run: RunRef | Run | str, update: RunUpdate | None = None, **fields: Any
    ) -> Run:
        """Change some fields of a run; a status change must be a legal transition."""
        ref = self.ref(run)
        self._require("update")
        update = self._args.update(update, fields)
        if update.status is not None:
            await self._check(ref, update.status, "update")
        return self._seen(await self.adapter.update(self._channel.call("update"), ref.id, update))

    @observed("cancel", "run")
    async def cancel(self, run: RunRef | Run | str) -> Run:
        """Cancel a run that has not finished; ``IllegalTransition`` if it has."""
        ref = self.ref(run)
        self._require("cancel")
        await self._check(ref, RunStatus.CANCELLED, "cancel")
        return self._seen(await self.adapter.cancel(self._channel.call("cancel"), ref.id))

    @observed("pause", "run")
    async def pause(self, run: RunRef | Run | str, *, reason: str | None = None) -> Run:
        """Pause a run that has not finished, where the provider can (``resume`` lets it
        go on); ``reason`` is shown to the people who see the run."""
        ref = self.ref(run)
        self._require("pause")
        if reason is not None and not (isinstance(reason, str) and reason.strip()):
            raise self._args.invalid(
                f"reason must be a non-empty string, not {self._args.safe(reason, 40)}",
                "reason",
                "pause",
            )
        await self._check(ref, RunStatus.RUNNING, "pause")
        return self._seen(await self.adapter.pause(self._channel.call("pause"), ref.id, reason))

    @observed("resume", "run")
    async def resume(self, run: RunRef | Run | str) -> Run:
        """Let a paused run go on, where the provider can."""
        ref = self.ref(run)
        self._require("resume")
        await self._check(ref, RunStatus.RUNNING, "resume")
        return self._seen(await self.adapter.resume(self._channel.call("resume"), ref.id))

    @observed("retry", "run")
    async def retry(self, run: RunRef | Run | str, **options: Any) -> Run:
        """Run a finished run again: in place where the provider can, else as a new run."""
        ref = self.ref(run)
        support = self._require("retry")
        if support is Support.NATIVE:
            self.adapter.retry_options.check(options, provider=self.provider, operation="retry")
            self.adapter.check_options("retry", options)
            await self._check(ref, RunStatus.PENDING, "retry")
            retried = await self.adapter.retry(self._channel.call("retry"), ref.id, options)
            return self._seen(retried)
        remembered = self._creator.sent.get(ref)
        if remembered is None and not self.adapter.retry_from_payload:
            raise UnsupportedOperation(
                f"cannot retry run {ref.id}: {self.provider} does not report a run's inputs, "
                "so only runs this client created can be retried; start a new run with create()",
                provider=self.provider,
                operation="retry",
            )
        self.adapter.create_options.check(options, provider=self.provider, operation="retry")
        previous = await self._check(ref, RunStatus.PENDING, "retry")
        request = remembered or self.adapter.retry_request(previous)
        if options:
            request = attrs.evolve(request, options={**request.options, **options})
        self._args.create(request, secrets_supported=self._capabilities.secrets, operation="retry")
        return self._seen(await self._creator.create(request))

    @observed("delete", "run")
    async def delete(self, run: RunRef | Run | str) -> None:
        """Delete a run."""
        ref = self.ref(run)
        self._require("delete")
        await self.adapter.delete(self._channel.call("delete"), ref.id)
