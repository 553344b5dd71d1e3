"""Exactly-once single creates: the client token a run carries, and finding it again.

Each create carries a client token in ``client_ref`` (or in
``metadata.runbridge_token`` when the caller set a ``client_ref``). After an
ambiguous failure the server is asked for ``q=client_ref:"<token>"``; a server
that refuses that filter, or ignores it, is scanned instead through the base
class's walk of the target's listing.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from contextvars import ContextVar
from datetime import datetime

import attrs

import runbridge
from runbridge import Run, RunRef, RunRequest
from runbridge.adapter import Adapter, Call

from ._listing import RUNS
from ._target import Target, parse_target
from ._wire import WirePage, converter

TOKEN_KEY = "runbridge_token"  # noqa: S105 - a metadata key, not a credential
"""Key of ``metadata`` that holds the exactly-once client token when ``client_ref`` is taken."""

_TOKEN_FIELDS = frozenset({"client_ref", "metadata"})
"""Run fields that carry the exactly-once token."""

SCANNING: ContextVar[bool] = ContextVar("runbridge_runflow_scanning", default=False)
"""Set while a lost-create lookup walks listings itself, checking every run."""


class TaggedCreates(Adapter):
    """The exactly-once part of the Runflow adapter."""

    def created(self, run: Run, target: Target) -> Run:
        """``run``, created on ``target``, as the adapter reports it."""
        return run

    def tag(self, request: RunRequest, token: str) -> RunRequest | None:
        """Carry the client token in ``client_ref`` (or, if the caller set one, metadata)."""
        options = dict(request.options)
        if options.get("client_ref") is None:
            options["client_ref"] = token
        else:
            metadata = options.get("metadata")
            if metadata is not None and not isinstance(metadata, Mapping):
                return None  # create() reports the bad option
            options["metadata"] = {**(metadata or {}), TOKEN_KEY: token}
        return attrs.evolve(request, options=options)

    def token_of(self, run: Run) -> str | None:
        """The client token of a run created through ``tag``."""
        metadata = run.raw.get("metadata")
        if isinstance(metadata, Mapping) and isinstance(metadata.get(TOKEN_KEY), str):
            return str(metadata[TOKEN_KEY])
        client_ref = run.raw.get("client_ref")
        return client_ref if isinstance(client_ref, str) else None

    async def find_tagged(
        self,
        call: Call,
        request: RunRequest,
        token: str,
        *,
        since: datetime | None = None,
        exclude: Collection[RunRef] = (),
    ) -> Run | None:
        """Ask the server for ``client_ref:"<token>"``; scan the listings if it cannot say."""
        answer = None
        if request.options.get("client_ref") == token:
            answer = await self._by_client_ref(call, token)
        if answer is None:
            scanning = SCANNING.set(True)
            try:
                found = await super().find_tagged(
                    call, request, token, since=since, exclude=exclude
                )
            finally:
                SCANNING.reset(scanning)
        else:
            found = self._only([r for r in answer if r.ref not in exclude], request, token)
        target = parse_target(request.target)
        return self.created(found, target) if found is not None and target else found

    async def _by_client_ref(self, call: Call, token: str) -> list[Run] | None:
        """The runs the server finds by ``client_ref``; ``None`` when it cannot search so."""
        params = {"q": f'client_ref:"{token}"', "limit": "10"}
        try:
            response = await call.request("GET", RUNS, params=params)
        except runbridge.InvalidRequest as exc:
            if exc.status in (400, 422):
                return None  # the server refuses this filter: scan instead
            raise
        page = call.structure(converter, response.data, WirePage)
        runs = await self._readable(call, [self.to_run(call, item) for item in page.items])
        if runs and all(self.token_of(run) != token for run in runs):
            return None  # runs, but none of them is ours: the filter was ignored
        return runs

    async def _readable(self, call: Call, runs: Sequence[Run]) -> list[Run]:
        """``runs``, each read again where the listing left out what carries the token.

        Every field is nullable: a record without ``client_ref`` and ``metadata``
        cannot say whether it is the run looked for, and missing it would create
        the run twice.
        """
        out = []
        for run in runs:
            if not _TOKEN_FIELDS & run.raw.keys():
                try:
                    run = await self.get(call, run.id)
                except runbridge.NotFound:
                    continue
            out.append(run)
        return out

    def _only(self, runs: list[Run], request: RunRequest, token: str) -> Run | None:
        found = [run for run in runs if self.claims(run, request, token)]
        if len(found) > 1:
            raise runbridge.CreateUnconfirmed(
                f"{len(found)} runs carry this create's client_ref; not guessing "
                f"({', '.join(str(r.ref) for r in found[:5])})",
                token=token,
                candidates=tuple(found),
                provider=self.name,
                operation="create",
            )
        return found[0] if found else None
