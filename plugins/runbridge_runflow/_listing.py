"""Listing Runflow runs: where to ask, with which ``q``, and how cursors come back.

A target filter goes to the server whenever it can: the id form as
``q=model_id:<id>`` (or ``comfyui_workflow_id``, ``flow_id``); a workflow path
through the documented ``GET /v1/comfyui-workflows/{owner}/{slug}/runs``; a
model path through its id when the adapter knows it. Runs read under a path
filter are reported under that path, so the core's client-side check of every
run compares like with like.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlencode, urlsplit

import attrs

import runbridge
from runbridge import Page, Run, RunStatus
from runbridge.adapter import Call, Response, RunFilter

from ._target import FORMS, ID_FIELDS, Directory, Target, parse_target
from ._translate import STATUSES
from ._wire import WirePage, decoded, link_of


class Lister(Protocol):
    """What reading a page needs of the adapter (which imports this module)."""

    directory: Directory
    target_q_refused: bool

    def to_run(self, call: Call, payload: Any, raw: Mapping[str, Any] | None = None) -> Run:
        """The canonical run of one run payload."""
        ...


CURSOR_PARAMS = ("pq", "from_prev")
"""The query parameters a cursor carries from one page to the next."""

RUNS = "/v1/runs"


@attrs.frozen
class Scope:
    """Where one listing asks, and under which target its runs are reported."""

    path: str = RUNS
    q: str | None = None
    report_as: str | None = None
    """The path target runs of ``ident`` are reported under, for a path filter."""
    ident: str | None = None
    """The id form of ``report_as``, when known before the page is read."""
    by_target: bool = False
    """Whether ``q`` is a target filter (``model_id:<id>``...), which the docs do not list."""

    def unfiltered(self) -> Scope:
        """This scope without its ``q``: every run, for the core to filter by target."""
        return attrs.evolve(self, q=None, by_target=False)


def status_query(statuses: frozenset[RunStatus]) -> str | None:
    """``q`` for a status filter alone; ``None`` when it cannot be sent."""
    if not statuses or RunStatus.UNKNOWN in statuses:
        return None  # no native value means "unknown": filter client-side only
    natives = [n for n, s in STATUSES.to_canonical.items() if s in statuses]
    return " OR ".join(f"status_code:{n}" for n in natives)


def _by_id(target: Target) -> str:
    # A filter of two fields would need AND to bind tighter than OR, which the docs
    # do not say; a target filter goes alone and statuses are checked client-side.
    return f"{ID_FIELDS[target.kind]}:{target.segments[0]}"


def scope_for(call: Call, filters: RunFilter, directory: Directory) -> Scope:
    """The listing for ``filters``; ``InvalidRequest`` for a model path it cannot map."""
    if filters.target is None:
        return Scope(q=status_query(filters.statuses))
    target = parse_target(filters.target)
    if target is None:
        raise call.invalid(f"target {filters.target!r:.80} must look like {FORMS}", field="target")
    if target.is_id:
        return Scope(q=_by_id(target), by_target=True)
    path = str(target)
    known = directory.id_for(path)
    if target.kind == "comfyui-workflows":
        owner, slug = target.segments
        endpoint = call.path("/v1/comfyui-workflows/{}/{}/runs", owner, slug)
        return Scope(path=endpoint, report_as=path, ident=known)
    if known is not None:
        q = _by_id(parse_target(known) or target)
        return Scope(q=q, report_as=path, ident=known, by_target=True)
    raise call.invalid(
        f"cannot list the runs of {path}: Runflow run records name a model by id only, "
        "and this client has not seen this model's id yet; list by 'models/<model_id>' "
        "(the target of any of its runs) instead",
        field="target",
    )


def report(call: Call, scope: Scope, runs: Iterable[Run], directory: Directory) -> tuple[Run, ...]:
    """``runs`` with those of the filtered target reported under its path."""
    runs = tuple(runs)
    if scope.report_as is None:
        return runs
    ident = scope.ident
    if scope.path != RUNS:
        # The workflow's own listing: its runs say which id the workflow has.
        kind = scope.report_as.split("/", 1)[0]
        found = {
            run.target
            for run in runs
            if run.target and (t := parse_target(run.target)) and t.is_id and t.kind == kind
        }
        if len(found) > 1:
            raise call.bad_response(
                f"the runs listed for {scope.report_as} name {len(found)} different workflows"
            )
        if found:
            ident = found.pop()
            directory.learn(scope.report_as, ident)
    if ident is None:
        return runs
    return tuple(attrs.evolve(r, target=scope.report_as) if r.target == ident else r for r in runs)


def cursor_params(call: Call, cursor: str) -> dict[str, str]:
    """The query parameters of one of this adapter's cursors."""
    kept = {k: v for k, v in parse_qsl(cursor) if k in CURSOR_PARAMS}
    if "pq" not in kept:
        raise call.invalid("cursor is not a Runflow cursor", field="cursor")
    return kept


def next_cursor(call: Call, link: str) -> str:
    """This adapter's cursor for a ``next`` value: a bare ``pq``, a path or a URL."""
    if not link.startswith("/") and not link.lower().startswith(("http://", "https://")):
        return urlencode({"pq": link})
    # A link is never requested as given: its host need not be the configured
    # one, and the token must not follow it. Its cursor parameters are kept.
    try:
        query = dict(parse_qsl(urlsplit(link).query))
    except ValueError:
        raise call.bad_response(f"the next link {link[:200]!r} is not a URL") from None
    if not query.get("pq"):
        raise call.bad_response(f"the next link {link[:200]!r} has no pq cursor")
    kept: dict[str, str] = {k: query[k] for k in CURSOR_PARAMS if k in query}
    return urlencode(kept)


async def read_page(
    adapter: Lister, call: Call, filters: RunFilter, cursor: str | None, limit: int | None
) -> Page:
    """One page of the listing ``filters`` asks for, from ``cursor``.

    The ``q`` target filter is not among the documented ones: a server that refuses
    it (400 or 422) is asked again without it, and from then on this adapter lists by
    target without it. Every run then comes back and the core keeps the target's own:
    a page may hold fewer of them, or none, while its cursor still walks the listing.
    """
    scope = scope_for(call, filters, adapter.directory)
    if scope.by_target and adapter.target_q_refused:
        scope = scope.unfiltered()
    try:
        response = await _request(call, scope, cursor, limit)
    except runbridge.InvalidRequest as exc:
        if not scope.by_target or exc.status not in (400, 422):
            raise
        scope = scope.unfiltered()
        response = await _request(call, scope, cursor, limit)
        adapter.target_q_refused = True
    page = decoded(call, response, WirePage)
    to_run, raw = adapter.to_run, response.raw
    runs = [to_run(call, item, raw("items", n)) for n, item in enumerate(page.items)]
    items = report(call, scope, runs, adapter.directory)
    link = link_of(page)
    following = next_cursor(call, link) if link else None
    if following is not None and following == cursor:
        raise call.bad_response("the next page cursor did not advance", body=response.raw())
    return Page(items, following)


async def _request(call: Call, scope: Scope, cursor: str | None, limit: int | None) -> Response:
    params: dict[str, str] = {"sort_by": "created_at:desc"}
    if limit is not None:
        params["limit"] = str(limit)
    if scope.q is not None:
        params["q"] = scope.q
    if cursor is not None:
        params.update(cursor_params(call, cursor))
    return await call.request("GET", scope.path, params=params, into=WirePage)
