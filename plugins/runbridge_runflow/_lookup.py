"""Exactly-once single creates: the client token a run carries, and how to find it again.

Each create carries a client token in ``client_ref`` (or in
``metadata.runbridge_token`` when the caller set a ``client_ref``). After an
ambiguous failure the server is asked for ``q=client_ref:"<token>"``; when it
refuses that filter, or ignores it, the core walks the target's listing instead.
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs

import runbridge
from runbridge import Run, RunRequest
from runbridge.adapter import Adapter, Call

from ._listing import RUNS
from ._target import Target, parse_target
from ._wire import WirePage, decoded

TOKEN_KEY = "runbridge_token"  # noqa: S105 - a metadata key, not a credential
"""Key of ``metadata`` that holds the exactly-once client token when ``client_ref`` is taken."""

_TOKEN_FIELDS = frozenset({"client_ref", "metadata"})
"""Run fields that carry the exactly-once token."""


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

    def claims(self, run: Run, request: RunRequest, token: str) -> bool | None:
        """Whether ``run`` carries ``token``; ``None`` for a record without the token fields.

        Every field is nullable: a record without ``client_ref`` and ``metadata``
        cannot say whether it is the run looked for. A claimed run teaches the
        directory the id of the path it was created on.
        """
        if not _TOKEN_FIELDS & run.raw.keys():
            return None
        if self.token_of(run) != token:
            return False
        if (target := parse_target(request.target)) is not None:
            self.created(run, target)
        return True

    def lookup_target(self, request: RunRequest) -> str | None:
        """The id form of the request's model, else ``None`` (every run) when it is unknown.

        A workflow path lists through its own endpoint, so it is kept.
        """
        target = self.canonical_target(request.target)
        parsed = parse_target(target)
        if parsed is None or (parsed.kind == "models" and not parsed.is_id):
            return None  # a model path whose id is unknown cannot filter a listing
        return target

    async def search_tagged(self, call: Call, request: RunRequest, token: str) -> list[Run] | None:
        """The runs the server finds by ``client_ref``; ``None`` when it cannot search so."""
        if request.options.get("client_ref") != token:
            return None  # the token is in metadata, which q cannot search
        params = {"q": f'client_ref:"{token}"', "limit": "10"}
        try:
            response = await call.request("GET", RUNS, params=params, into=WirePage)
        except runbridge.InvalidRequest as exc:
            if exc.status in (400, 422):
                return None  # the server refuses this filter
            raise
        page = decoded(call, response, WirePage)
        runs = [
            self.to_run(call, item, response.raw("items", n)) for n, item in enumerate(page.items)
        ]
        tokens = [self.token_of(run) for run in runs]
        if any(t is not None and t != token for t in tokens):
            # A run carrying another token: the server ignored the filter. The walk
            # reads every candidate instead. (A record that leaves the token out says
            # nothing either way: the core reads that run again.)
            return None
        target = parse_target(request.target)
        if target is None:
            return runs
        return [self.created(r, target) if self.token_of(r) == token else r for r in runs]
