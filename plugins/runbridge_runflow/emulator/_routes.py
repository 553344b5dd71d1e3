"""The Runflow emulator's routes: thin handlers over ``RunflowEmulator``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from runbridge.emulation import json_response

from . import _batches as batches
from . import _callbacks as callbacks
from ._facts import SORTS, STATUSES
from ._query import Invalid
from ._records import Batch
from ._validation import as_object, optional_text

if TYPE_CHECKING:
    from ._server import RunflowEmulator


def add_routes(emu: RunflowEmulator, app: web.Application) -> None:
    """Add every emulated endpoint of ``emu`` to ``app``."""

    async def create_model_run(request: web.Request) -> web.Response:
        return await emu.create(request, "models", request.match_info["ref"])

    async def create_workflow_run(request: web.Request) -> web.Response:
        return await emu.create(request, "comfyui-workflows", request.match_info["ref"])

    async def create_batch(request: web.Request) -> web.Response:
        return await batches.create_batch(emu, request, request.match_info["ref"])

    async def list_runs(request: web.Request) -> web.Response:
        org, admin = emu.org_of(request), emu.is_admin(request)
        rows = [(run.rank, run) for run in emu.runs.values() if admin or run.org_id == org]
        return emu.listing(request, rows, sorts=SORTS, fields=emu.query_view, render=emu.run_json)

    async def list_workflow_runs(request: web.Request) -> web.Response:
        info = request.match_info
        name = f"comfyui-workflows/{info['owner']}/{info['slug']}"
        workflow = emu.targets.get(name)
        if workflow is None:
            return emu.error(404, f"no workflow {name!r}", code="NOT_FOUND")
        rows = [
            (run.rank, run)
            for run in emu.runs.values()
            if run.target is workflow and run.org_id == emu.org_of(request)
        ]
        return emu.listing(request, rows, sorts=SORTS, fields=emu.query_view, render=emu.run_json)

    async def statuses(request: web.Request) -> web.Response:
        # ASSUMPTION: the "full enum" is a list of {code} rows (its shape is undocumented).
        return json_response([{"code": code} for code in STATUSES.documented])

    async def get_run(request: web.Request) -> web.Response:
        found = emu.find(request)
        return found if isinstance(found, web.Response) else json_response(emu.run_json(found))

    async def patch_run(request: web.Request) -> web.Response:
        found = emu.find(request)
        if isinstance(found, web.Response):
            return found
        try:
            body = await emu.body(request)
        except Invalid as exc:
            return emu.invalid(exc)
        return emu.patch(found, body)

    async def cancel_run(request: web.Request) -> web.Response:
        if not emu.is_admin(request):
            return emu.error(403, "this endpoint needs an admin (rf_svc_*) key")
        found = emu.find(request)
        if isinstance(found, web.Response):
            return found
        try:
            body = as_object(await emu.body(request), ["body"])
            optional_text(body, "reason", ["body"], min_len=3, max_len=500)
        except Invalid as exc:
            return emu.invalid(exc)
        if emu.finished(found):  # documented: 200 with the run unchanged
            return json_response(emu.run_json(found), status=200)
        found.timeline.pin(STATUSES.cancelled, "finished", emu.now())
        return json_response(emu.run_json(found), status=201)

    def find_batch(request: web.Request, key: str = "id") -> Batch | web.Response:
        batch = emu.batches.get(request.match_info[key])
        if batch is None or (not emu.is_admin(request) and batch.org_id != emu.org_of(request)):
            return emu.error(404, "The batch does not exist", code="BATCH_NOT_FOUND")
        return batch

    async def get_batch(request: web.Request) -> web.Response:
        found = find_batch(request)
        if isinstance(found, web.Response):
            return found
        return json_response(batches.batch_json(emu, found))

    async def batch_items(request: web.Request) -> web.Response:
        found = find_batch(request)
        if isinstance(found, web.Response):
            return found
        rows = [(n, batches.item_json(emu, found, n)) for n in range(len(found.runs))]
        return emu.listing(request, rows, sorts=("sequence_index:asc",))

    async def batch_item(request: web.Request) -> web.Response:
        found = find_batch(request, "batch_id")
        if isinstance(found, web.Response):
            return found
        item_id = request.match_info["id"]
        if item_id not in found.item_ids:
            return emu.error(404, "The batch item does not exist", code="NOT_FOUND")
        return json_response(batches.item_json(emu, found, found.item_ids.index(item_id)))

    async def callback_deliveries(request: web.Request) -> web.Response:
        found = emu.find(request)
        if isinstance(found, web.Response):
            return found
        return json_response([callbacks.record(d) for d in emu.deliveries_of(found.id)])

    async def redeliver_callback(request: web.Request) -> web.Response:
        found = emu.find(request)
        if isinstance(found, web.Response):
            return found
        delivery = emu.redeliver(found.id)
        if delivery is None:
            # ASSUMPTION (undocumented): no callback URL, or not finished, is a conflict.
            return emu.error(409, "the run has no callback to deliver", code="CONFLICT")
        return json_response(callbacks.record(delivery), status=201)

    router = app.router
    router.add_post("/v1/models/{ref:.+}/runs", create_model_run)
    router.add_post("/v1/models/{ref:.+}/batches", create_batch)
    router.add_post("/v1/comfyui-workflows/{ref:.+}/runs", create_workflow_run)
    router.add_get("/v1/comfyui-workflows/{owner}/{slug}/runs", list_workflow_runs)
    router.add_get("/v1/runs", list_runs)
    router.add_get("/v1/runs/statuses", statuses)
    router.add_get("/v1/runs/{id}", get_run)
    router.add_patch("/v1/runs/{id}", patch_run)
    router.add_get("/v1/runs/{id}/callback", callback_deliveries)
    router.add_post("/v1/runs/{id}/callback-redeliveries", redeliver_callback)
    router.add_post("/v1/admin/runs/{id}/cancellation", cancel_run)
    router.add_get("/v1/batches/{id}", get_batch)
    router.add_get("/v1/batches/{id}/items", batch_items)
    router.add_get("/v1/batches/{batch_id}/items/{id}", batch_item)
