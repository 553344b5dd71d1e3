"""The Runflow emulator's routes: thin handlers over ``RunflowEmulator``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from runbridge.emulation import json_response

from . import _emulator_batches as batches
from ._emulator_data import ADMIN, ORG, Batch, Invalid, as_object, optional_text

if TYPE_CHECKING:
    from ._emulator import RunflowEmulator


def add_routes(emu: RunflowEmulator, app: web.Application) -> None:
    """Add every emulated endpoint of ``emu`` to ``app``."""

    async def create_model_run(request: web.Request) -> web.Response:
        return await emu.create(request, "models/" + request.match_info["path"])

    async def create_workflow_run(request: web.Request) -> web.Response:
        info = request.match_info
        return await emu.create(request, f"comfyui-workflows/{info['owner']}/{info['slug']}")

    async def create_batch(request: web.Request) -> web.Response:
        return await batches.create_batch(emu, request, "models/" + request.match_info["path"])

    async def list_runs(request: web.Request) -> web.Response:
        org, admin = request[ORG], request[ADMIN]
        rows = [
            (run.seq, emu.run_json(run)) for run in emu.runs.values() if admin or run.org_id == org
        ]
        return emu.listing(request, rows, sorts=("created_at:desc", "created_at:asc"))

    async def list_workflow_runs(request: web.Request) -> web.Response:
        info = request.match_info
        name = f"comfyui-workflows/{info['owner']}/{info['slug']}"
        if name not in emu.targets:
            return emu.fail(404, "NOT_FOUND", f"no workflow {name!r}")
        rows = [
            (run.seq, emu.run_json(run))
            for run in emu.runs.values()
            if str(run.target) == name and run.org_id == request[ORG]
        ]
        return emu.listing(request, rows, sorts=("created_at:desc", "created_at:asc"))

    async def statuses(request: web.Request) -> web.Response:
        return json_response(emu.statuses())

    async def get_run(request: web.Request) -> web.Response:
        raw = emu.raw_runs.get(request.match_info["id"].lower())
        if raw is not None:
            return json_response(raw)
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
        if not request[ADMIN]:
            return emu.fail(403, "PERMISSION_DENIED", "this endpoint needs an admin (rf_svc_*) key")
        found = emu.find(request)
        if isinstance(found, web.Response):
            return found
        try:
            body = as_object(await emu.body(request), ["body"])
            optional_text(body, "reason", ["body"], min_len=3, max_len=500)
        except Invalid as exc:
            return emu.invalid(exc)
        now = emu.now()
        if emu.finished(found, now):
            return json_response(emu.run_json(found), status=200)
        emu.pin(found, "canceled", now)
        return json_response(emu.run_json(found), status=201)

    def find_batch(request: web.Request, key: str = "id") -> Batch | web.Response:
        batch = emu.batches.get(request.match_info[key])
        if batch is None or (not request[ADMIN] and batch.org_id != request[ORG]):
            return emu.fail(404, "BATCH_NOT_FOUND", "The batch does not exist")
        return batch

    async def get_batch(request: web.Request) -> web.Response:
        found = find_batch(request)
        return (
            found
            if isinstance(found, web.Response)
            else json_response(batches.batch_json(emu, found))
        )

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
            return emu.fail(404, "NOT_FOUND", "The batch item does not exist")
        return json_response(batches.item_json(emu, found, found.item_ids.index(item_id)))

    router = app.router
    router.add_post("/v1/models/{path:.+}/runs", create_model_run)
    router.add_post("/v1/models/{path:.+}/batches", create_batch)
    router.add_post("/v1/comfyui-workflows/{owner}/{slug}/runs", create_workflow_run)
    router.add_get("/v1/comfyui-workflows/{owner}/{slug}/runs", list_workflow_runs)
    router.add_get("/v1/runs", list_runs)
    router.add_get("/v1/runs/statuses", statuses)
    router.add_get("/v1/runs/{id}", get_run)
    router.add_patch("/v1/runs/{id}", patch_run)
    router.add_post("/v1/admin/runs/{id}/cancellation", cancel_run)
    router.add_get("/v1/batches/{id}", get_batch)
    router.add_get("/v1/batches/{id}/items", batch_items)
    router.add_get("/v1/batches/{batch_id}/items/{id}", batch_item)
