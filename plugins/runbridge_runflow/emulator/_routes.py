"""The Runflow emulator's routes: thin handlers, and listings with ``q`` and cursors."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from runbridge.emulation import BadCursor, Paged, Paging, json_response

from . import _batches as batches
from . import _callbacks as callbacks
from ._base import RunflowBase
from ._facts import SORTS, STATUSES, uuid_text
from ._query import Invalid, paging, parse_q, q_matches
from ._records import Batch, EmuRun
from ._validation import as_object, check_input, optional_text, patch_fields

PAGING = Paging.cursors(signed=False)
"""``pq``: the sort and the key of a page's boundary row; ``from_prev`` reads backwards."""


class RunflowRoutes(RunflowBase):
    """Every emulated endpoint, as a handler method, and the listing they share."""

    def routes(self, app: web.Application) -> None:
        """Add every emulated endpoint to ``app``."""
        router = app.router
        router.add_post("/v1/models/{ref:.+}/runs", self._create_model_run)
        router.add_post("/v1/models/{ref:.+}/batches", self._create_batch)
        router.add_post("/v1/comfyui-workflows/{ref:.+}/runs", self._create_workflow_run)
        router.add_get("/v1/comfyui-workflows/{owner}/{slug}/runs", self._list_workflow_runs)
        router.add_get("/v1/runs", self._list_runs)
        router.add_get("/v1/runs/statuses", self._statuses)
        router.add_get("/v1/runs/{id}", self._get_run)
        router.add_patch("/v1/runs/{id}", self._patch_run)
        router.add_get("/v1/runs/{id}/callback", self._callback_deliveries)
        router.add_post("/v1/runs/{id}/callback-redeliveries", self._redeliver_callback)
        router.add_post("/v1/admin/runs/{id}/cancellation", self._cancel_run)
        router.add_get("/v1/batches/{id}", self._get_batch)
        router.add_get("/v1/batches/{id}/items", self._batch_items)
        router.add_get("/v1/batches/{batch_id}/items/{id}", self._batch_item)

    # -- runs ---------------------------------------------------------------------------

    def find(self, request: web.Request, key: str = "id") -> EmuRun | web.Response:
        """The run named in the path, visible to the caller's organization."""
        run_id = uuid_text(request.match_info[key])
        if run_id is None:
            return self.invalid(Invalid("must be a UUID", ["path", key]))
        run = self.runs.get(run_id)
        if run is None or (not self.is_admin(request) and run.org_id != self.org_of(request)):
            return self.error(404, "The run_id does not exist or belongs to another org")
        return run

    async def create(self, request: web.Request, kind: str, ref: str) -> web.Response:
        """``POST /v1/{kind}/{ref}/runs``, ``ref`` a path or (ASSUMPTION) an id."""
        target = self.routed(kind, ref)
        if target is None:
            return self.error(404, f"no {kind} {ref!r}", code="MODEL_NOT_FOUND")
        if not target.available:
            return self.error(503, f"{target.path} is unavailable", code="MODEL_UNAVAILABLE")
        try:
            body = as_object(await self.body(request), ["body"])
            data = {
                "input": check_input(body.get("input"), target.required, ["body"]),
                "metadata": as_object(body.get("metadata"), ["body", "metadata"]),
                "callback_url": optional_text(body, "callback_url", ["body"], min_len=1),
                "client_ref": optional_text(body, "client_ref", ["body"], min_len=1),
            }
        except Invalid as exc:
            return self.invalid(exc)
        run = self.new_run(target, self.org_of(request), data)
        # ASSUMPTION: 201 (the SDK accepts any 2xx).
        return json_response(self.run_json(run, fresh=True), status=201)

    def patch(self, run: EmuRun, body: Any) -> web.Response:
        """Merge a PATCH body into the run; a status pins it (the clock no longer moves it)."""
        try:
            changes = patch_fields(body)
        except Invalid as exc:
            return self.invalid(exc)
        status = changes.pop("status_code", None)
        if status is not None:
            run.timeline.pin(status, STATUSES.phase_of(status), self.now())
            run.status_patched = True
        run.patched.update(changes)
        return json_response(self.run_json(run))

    async def _create_model_run(self, request: web.Request) -> web.Response:
        return await self.create(request, "models", request.match_info["ref"])

    async def _create_workflow_run(self, request: web.Request) -> web.Response:
        return await self.create(request, "comfyui-workflows", request.match_info["ref"])

    async def _list_runs(self, request: web.Request) -> web.Response:
        org, admin = self.org_of(request), self.is_admin(request)
        rows = [(run.rank, run) for run in self.runs.values() if admin or run.org_id == org]
        return self.listing(
            request, rows, sorts=SORTS, fields=self.query_view, render=self.run_json
        )

    async def _list_workflow_runs(self, request: web.Request) -> web.Response:
        info = request.match_info
        name = f"comfyui-workflows/{info['owner']}/{info['slug']}"
        workflow = self.targets.get(name)
        if workflow is None:
            return self.error(404, f"no workflow {name!r}", code="NOT_FOUND")
        org = self.org_of(request)
        rows = [
            (run.rank, run)
            for run in self.runs.values()
            if run.target is workflow and run.org_id == org
        ]
        return self.listing(
            request, rows, sorts=SORTS, fields=self.query_view, render=self.run_json
        )

    def _list(self, request: web.Request, rows: Sequence[tuple[int, EmuRun]]) -> web.Response:
        return self.listing(
            request, rows, sorts=SORTS, fields=self.query_view, render=self.run_json
        )

    async def _statuses(self, request: web.Request) -> web.Response:
        # ASSUMPTION: the "full enum" is a list of {code} rows (its shape is undocumented).
        return json_response([{"code": code} for code in STATUSES.documented])

    async def _get_run(self, request: web.Request) -> web.Response:
        found = self.find(request)
        return found if isinstance(found, web.Response) else json_response(self.run_json(found))

    async def _patch_run(self, request: web.Request) -> web.Response:
        found = self.find(request)
        if isinstance(found, web.Response):
            return found
        try:
            body = await self.body(request)
        except Invalid as exc:
            return self.invalid(exc)
        return self.patch(found, body)

    async def _cancel_run(self, request: web.Request) -> web.Response:
        if not self.is_admin(request):
            return self.error(403, "this endpoint needs an admin (rf_svc_*) key")
        found = self.find(request)
        if isinstance(found, web.Response):
            return found
        try:
            body = as_object(await self.body(request), ["body"])
            optional_text(body, "reason", ["body"], min_len=3, max_len=500)
        except Invalid as exc:
            return self.invalid(exc)
        if self.finished(found):  # documented: 200 with the run unchanged
            return json_response(self.run_json(found), status=200)
        found.timeline.pin(STATUSES.cancelled, "finished", self.now())
        return json_response(self.run_json(found), status=201)

    async def _callback_deliveries(self, request: web.Request) -> web.Response:
        found = self.find(request)
        if isinstance(found, web.Response):
            return found
        return json_response([callbacks.record(d) for d in self.deliveries_of(found.id)])

    async def _redeliver_callback(self, request: web.Request) -> web.Response:
        found = self.find(request)
        if isinstance(found, web.Response):
            return found
        delivery = self.redeliver(found.id)
        if delivery is None:
            # ASSUMPTION (undocumented): no callback URL, or not finished, is a conflict.
            return self.error(409, "the run has no callback to deliver", code="CONFLICT")
        return json_response(callbacks.record(delivery), status=201)

    # -- batches ------------------------------------------------------------------------

    async def _create_batch(self, request: web.Request) -> web.StreamResponse:
        return await batches.create_batch(self, request, request.match_info["ref"])

    def _find_batch(self, request: web.Request, key: str = "id") -> Batch | web.Response:
        batch = self.batches.get(request.match_info[key])
        if batch is None or (not self.is_admin(request) and batch.org_id != self.org_of(request)):
            return self.error(404, "The batch does not exist", code="BATCH_NOT_FOUND")
        return batch

    async def _get_batch(self, request: web.Request) -> web.Response:
        found = self._find_batch(request)
        if isinstance(found, web.Response):
            return found
        return json_response(batches.batch_json(self, found))

    async def _batch_items(self, request: web.Request) -> web.Response:
        found = self._find_batch(request)
        if isinstance(found, web.Response):
            return found
        rows = [(n, batches.item_json(self, found, n)) for n in range(len(found.runs))]
        return self.listing(request, rows, sorts=("sequence_index:asc",))

    async def _batch_item(self, request: web.Request) -> web.Response:
        found = self._find_batch(request, "batch_id")
        if isinstance(found, web.Response):
            return found
        item_id = request.match_info["id"]
        if item_id not in found.item_ids:
            return self.error(404, "The batch item does not exist", code="NOT_FOUND")
        return json_response(batches.item_json(self, found, found.item_ids.index(item_id)))

    # -- listing ------------------------------------------------------------------------

    def listing(
        self,
        request: web.Request,
        rows: Sequence[tuple[int, Any]],
        *,
        sorts: Sequence[str],
        fields: Callable[[Any], Mapping[str, Any]] | None = None,
        render: Callable[[Any], Any] | None = None,
    ) -> web.Response:
        """One page of ``(rank, row)`` rows, ranked by sort key, with ``q`` and cursors applied.

        ``fields`` gives what ``q`` can filter on and ``render`` the JSON of a row;
        only the rows of the page are rendered, so a filtered listing of many runs
        stays cheap.
        """
        fields = fields or (lambda row: row)
        render = render or (lambda row: row)
        try:
            params = paging(request.query, sorts=sorts)
            query = parse_q(request.query.get("q", ""), self.query_fields)
            sign = -1 if params.sort.endswith(":desc") else 1
            kept = sorted(
                (r for r in rows if q_matches(query, fields(r[1]))), key=lambda r: sign * r[0]
            )
            page = PAGING.page(
                kept,
                limit=params.limit,
                cursor=params.pq,
                key=lambda r: sign * r[0],
                scope=params.sort,
                back=params.back,
            )
        except BadCursor:
            return self.invalid(Invalid("pq is not a cursor of this listing", ["query", "pq"]))
        except Invalid as exc:
            return self.invalid(exc)
        return json_response(self.envelope(request, [render(r[1]) for r in page.items], page))

    def envelope(self, request: web.Request, items: list[Any], page: Paged[Any]) -> dict[str, Any]:
        """The list envelope, with cursors shaped by ``cursor_style``."""
        if self.cursor_style == "pq":
            return {"items": items, "first": None, "next_pq": page.next, "prev_pq": page.previous}

        def link(pq: str | None, back: bool) -> str | None:
            if pq is None or self.cursor_style == "token":
                return pq
            query = {k: v for k, v in request.query.items() if k not in ("pq", "from_prev")}
            query["pq"] = pq
            if back:
                query["from_prev"] = "true"
            path = f"{request.path}?{urlencode(query)}"
            if self.cursor_style == "path":
                return path
            return f"{request.scheme}://{request.host}{path}"

        return {
            "items": items,
            "first": None,
            "next": link(page.next, False),
            "previous": link(page.previous, True),
        }
