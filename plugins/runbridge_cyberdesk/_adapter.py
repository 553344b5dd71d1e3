"""The Cyberdesk adapter: canonical runs to and from the ``/v1/runs`` API."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

import attrs
import orjson

import runbridge
from runbridge import (
    UUID_FORMAT,
    Adapter,
    BulkError,
    BulkResult,
    Call,
    Capabilities,
    ErrorInfo,
    ErrorMap,
    Failure,
    Page,
    Pagination,
    Run,
    RunbridgeError,
    RunFilter,
    RunRef,
    RunRequest,
    RunStatus,
    RunUpdate,
)

from ._wire import (
    BULK_FIELDS,
    CANONICAL_FIELDS,
    CREATE_OPTIONS,
    RETRY_OPTIONS,
    STATUSES,
    UPDATE_OPTIONS,
    WireBulk,
    WirePage,
    WireRun,
    converter,
)

MAX_BATCH = 1000
"""Most runs one ``POST /v1/runs/bulk`` creates (``count`` is 1..1000)."""

BULK_CONCURRENCY = 8
"""Bulk and single create requests one ``create_many`` keeps in flight at once."""

_RETRY_ALIASES = {
    "inputs": "input_values",
    "secrets": "sensitive_input_values",
    "files": "file_inputs",
}

_UPDATE_STATUS = {
    RunStatus.PENDING: "scheduling",
    RunStatus.RUNNING: "running",
    RunStatus.SUCCEEDED: "success",
    RunStatus.FAILED: "task_failed",
    RunStatus.CANCELLED: "cancelled",
}

_COST_KEYS = ("total_cost_usd", "cost_usd")
"""``usage_metadata`` keys read as the run's cost (USD) when they hold a number."""

_LOC_PREFIXES = frozenset({"body", "query", "path", "header", "cookie"})


class CyberdeskAdapter(Adapter):
    """Runs of Cyberdesk workflows; the target is the workflow id (a UUID)."""

    name = "cyberdesk"
    id_format = UUID_FORMAT
    default_base_url = "https://api.cyberdesk.io"
    emulator = "runbridge_cyberdesk:CyberdeskEmulator"
    capabilities = Capabilities.of(
        native={"create", "create_many", "get", "list", "update", "cancel", "retry", "delete"},
        pagination=Pagination.OFFSET,
        max_page_size=1000,
        filters={"target", "status", "created_after", "created_before"},
        max_batch=MAX_BATCH,
    )
    errors = ErrorMap(
        statuses={
            400: runbridge.InvalidRequest,
            401: runbridge.AuthError,
            403: runbridge.AuthError,
            404: runbridge.NotFound,
            409: runbridge.Conflict,
            422: runbridge.InvalidRequest,
            429: runbridge.RateLimited,
            500: runbridge.ProviderUnavailable,
            502: runbridge.ProviderUnavailable,
            503: runbridge.ProviderUnavailable,
            504: runbridge.ProviderUnavailable,
        }
    )

    # -- reading ----------------------------------------------------------------------

    def canonical_target(self, target: str) -> str:
        """Workflow ids compare lower-case."""
        return UUID_FORMAT.normalize(target) or target

    def parse_error(self, status: int, body: Any) -> ErrorInfo:
        """Read FastAPI's ``{"detail": "text"}`` and ``{"detail": [{loc, msg, type}]}``."""
        if isinstance(body, str) and body.strip():
            return ErrorInfo(message=body.strip()[:500])
        if not isinstance(body, Mapping):
            return ErrorInfo()
        detail = body.get("detail")
        if isinstance(detail, str):
            return ErrorInfo(message=detail)
        if isinstance(detail, list):
            entries = [entry for entry in detail if isinstance(entry, Mapping)]
            if entries:
                parts = []
                for entry in entries:
                    where = _field_from_loc(entry.get("loc"))
                    msg = entry.get("msg")
                    text = msg if isinstance(msg, str) else "invalid value"
                    parts.append(f"{text} (at '{where}')" if where else text)
                code = entries[0].get("type")
                return ErrorInfo(
                    message="; ".join(parts),
                    code=code if isinstance(code, str) else None,
                    field=_field_from_loc(entries[0].get("loc")),
                )
        return super().parse_error(status, body)

    def to_run(self, call: Call, payload: Any) -> Run:
        """A canonical run from a ``RunResponse`` payload."""
        if type(payload) is not dict and not isinstance(payload, Mapping):
            raise call.bad_response("expected a run object", body=payload)
        wire = call.structure(converter, payload, WireRun)
        run_id = self.id_format.normalize(wire.id)
        if run_id is None:
            raise call.bad_response(f"run id {wire.id[:64]!r} is not a UUID", body=payload)
        status = STATUSES.canonical(wire.status)
        message = "; ".join(wire.error) if wire.error else None
        failure = None
        if wire.status == "error":
            failure = Failure("system", message)
        elif wire.status == "task_failed":
            failure = Failure("task", message)
        return Run(
            ref=RunRef(self.name, run_id),
            status=status,
            native_status=wire.status,
            target=wire.workflow_id.lower(),
            inputs=wire.input_values or {},
            outputs=wire.output_data,
            failure=failure,
            created_at=wire.created_at,
            started_at=wire.started_at,
            finished_at=wire.ended_at,
            cost=_cost(wire.usage_metadata),
            raw=payload,
        )

    # -- operations -------------------------------------------------------------------

    def check_update(self, update: RunUpdate) -> None:
        """No cost or progress on Cyberdesk runs; options as ``check_options`` says."""
        for field, value in (("cost", update.cost), ("progress", update.progress)):
            if value is not None:
                raise runbridge.InvalidRequest(
                    f"cyberdesk runs have no {field}; set options={{'usage_metadata': ...}}"
                    if field == "cost"
                    else "cyberdesk runs have no progress",
                    field=field,
                    provider=self.name,
                    operation="update",
                )
        super().check_update(update)

    def check_options(self, operation: str, options: Mapping[str, Any]) -> None:
        """Only the fields the provider takes for ``operation``; canonical ones by name."""
        allowed = {
            "create": CREATE_OPTIONS,
            "retry": RETRY_OPTIONS | _RETRY_ALIASES.keys(),
            "update": UPDATE_OPTIONS,
        }.get(operation)
        if allowed is None:
            return
        for key in options:
            if operation != "retry" and key in CANONICAL_FIELDS:
                where = "RunRequest" if operation == "create" else "RunUpdate"
                reason = f"option {key!r} is set through {where}.{CANONICAL_FIELDS[key]}"
            elif key not in allowed:
                reason = f"cyberdesk cannot {operation} with option {key!r}"
            else:
                continue
            raise runbridge.InvalidRequest(
                reason, field=key, provider=self.name, operation=operation
            )

    async def create(self, call: Call, request: RunRequest) -> Run:
        body = _create_body(call, request)
        response = await call.request(
            "POST",
            "/v1/runs",
            json=body,
            headers={"Idempotency-Key": call.idempotency_key},
            expect=(201,),
            idempotent=True,
        )
        return self.to_run(call, response.data)

    async def create_many(self, call: Call, requests: Sequence[RunRequest]) -> BulkResult:
        runs: list[tuple[int, Run]] = []
        errors: list[BulkError] = []
        jobs: list[_Job] = []
        groups: dict[bytes, _Job] = {}
        for index, request in enumerate(requests):
            try:
                body = _create_body(call, request)
            except runbridge.InvalidRequest as exc:
                errors.append(BulkError(str(exc), index, exc))
                continue
            if not body.keys() <= BULK_FIELDS:
                # Options only RunCreate takes (main_prompt, session_alias, ...).
                jobs.append(_Job(body, [index], bulk=False))
                continue
            signature = orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
            if signature in groups:
                groups[signature].indices.append(index)
            else:
                groups[signature] = job = _Job(body, [index], bulk=True)
                jobs.append(job)
        chunks = [
            attrs.evolve(job, indices=job.indices[start : start + MAX_BATCH])
            for job in jobs
            for start in range(0, len(job.indices), MAX_BATCH)
        ]
        gate = asyncio.Semaphore(BULK_CONCURRENCY)

        async def send(number: int, chunk: _Job) -> None:
            # Each chunk is its own write with its own key, stable across retries.
            key = call.idempotency_key_for(f"chunk-{number}")
            async with gate:
                try:
                    if chunk.bulk:
                        created, failed = await self._bulk(call, chunk, key)
                    else:
                        created, failed = await self._single(call, chunk, key)
                except RunbridgeError as exc:
                    errors.extend(BulkError(str(exc), index, exc) for index in chunk.indices)
                    return
            runs.extend(created)
            errors.extend(failed)

        await asyncio.gather(*(send(n, chunk) for n, chunk in enumerate(chunks)))
        runs.sort(key=lambda pair: pair[0])
        errors.sort(key=lambda e: (e.index is None, e.index or 0))
        return BulkResult(tuple(run for _, run in runs), tuple(errors), len(requests))

    async def _single(
        self, call: Call, chunk: _Job, key: str
    ) -> tuple[list[tuple[int, Run]], list[BulkError]]:
        response = await call.request(
            "POST",
            "/v1/runs",
            json=chunk.body,
            headers={"Idempotency-Key": key},
            expect=(201,),
            idempotent=True,
        )
        return [(chunk.indices[0], self.to_run(call, response.data))], []

    async def _bulk(
        self, call: Call, chunk: _Job, key: str
    ) -> tuple[list[tuple[int, Run]], list[BulkError]]:
        response = await call.request(
            "POST",
            "/v1/runs/bulk",
            json={**chunk.body, "count": len(chunk.indices)},
            headers={"Idempotency-Key": key},
            expect=(201,),
            idempotent=True,
        )
        if not isinstance(response.data, Mapping):
            raise call.bad_response("expected a bulk create result", body=response.data)
        wire = call.structure(converter, response.data, WireBulk)
        created = [self.to_run(call, item) for item in wire.created_runs]
        # The runs of one chunk are interchangeable (same body): they fill the
        # chunk's positions in order, and whatever is left over failed.
        indices = chunk.indices
        runs = [
            (indices[i] if i < len(indices) else indices[-1], run) for i, run in enumerate(created)
        ]
        messages = [call.redactor.text(str(m))[:500] for m in (wire.errors or ())]
        # Positions the provider did not fill failed; its own count and messages are
        # reported too, but never believed beyond the size of the chunk.
        missing = max(len(indices) - len(created), 0)
        errors = [
            BulkError(
                messages[k]
                if k < len(messages)
                else f"cyberdesk created {len(created)} of {len(indices)} runs "
                f"(failed_count={wire.failed_count})",
                indices[len(created) + k],
            )
            for k in range(missing)
        ]
        if wire.failed_count > missing or len(messages) > missing:
            extra = "; ".join(messages[missing : missing + 5])
            errors.append(
                BulkError(
                    f"cyberdesk reported failed_count={wire.failed_count} for a chunk of "
                    f"{len(indices)} with {len(created)} runs created"
                    + (f": {extra}" if extra else "")
                )
            )
        return runs, errors

    async def get(self, call: Call, run_id: str) -> Run:
        response = await call.request("GET", call.path("/v1/runs/{}", run_id))
        return self.to_run(call, response.data)

    async def list_page(
        self, call: Call, filters: RunFilter, cursor: str | None, limit: int | None
    ) -> Page:
        skip = 0
        if cursor is not None:
            if not (cursor.isascii() and cursor.isdigit()) or len(cursor) > 12:
                raise call.invalid("cursor is not a cyberdesk offset", field="cursor")
            skip = int(cursor)
        params: list[tuple[str, str]] = [("sort_mode", "created_at_desc"), ("skip", str(skip))]
        if limit is not None:
            params.append(("limit", str(limit)))
        if filters.target is not None:
            params.append(("workflow_id", _workflow_id(call, filters.target)))
        if len(filters.statuses) == 1:
            natives = STATUSES.natives(next(iter(filters.statuses)))
            # ``running`` covers two natives and the server takes one value: the
            # core filters the rest client-side.
            if len(natives) == 1:
                params.append(("status", natives[0]))
        if filters.created_after is not None:
            params.append(("created_at_from", runbridge.format_timestamp(filters.created_after)))
        if filters.created_before is not None:
            params.append(("created_at_to", runbridge.format_timestamp(filters.created_before)))
        response = await call.request("GET", "/v1/runs", params=params)
        if not isinstance(response.data, Mapping):
            raise call.bad_response("expected a paginated run list", body=response.data)
        wire = call.structure(converter, response.data, WirePage)
        items = tuple(self.to_run(call, item) for item in wire.items)
        following = skip + len(items)
        next_cursor = str(following) if items and following < wire.total else None
        return Page(items, next_cursor)

    async def update(self, call: Call, run_id: str, update: RunUpdate) -> Run:
        body: dict[str, Any] = {}
        for key, value in update.options.items():
            if key in CANONICAL_FIELDS:
                raise call.invalid(
                    f"option {key!r} is set through RunUpdate.{CANONICAL_FIELDS[key]}",
                    field=key,
                )
            if key not in UPDATE_OPTIONS:
                raise call.invalid(f"cyberdesk runs have no field {key!r} to update", field=key)
            body[key] = value
        if update.cost is not None:
            raise call.invalid(
                "cyberdesk has no cost field; set options={'usage_metadata': {...}}", field="cost"
            )
        if update.progress is not None:
            raise call.invalid("cyberdesk runs have no progress", field="progress")
        if update.status is not None:
            native = _UPDATE_STATUS.get(update.status)
            if native is None:
                raise call.invalid(f"cannot set status {update.status.value}", field="status")
            if update.status is RunStatus.FAILED and update.failure is not None:
                native = "error" if update.failure.kind == "system" else "task_failed"
            body["status"] = native
        if update.outputs is not None:
            body["output_data"] = dict(update.outputs)
        if update.inputs is not None:
            body["input_values"] = dict(update.inputs)
        if update.failure is not None and update.failure.message is not None:
            body["error"] = [update.failure.message]
        if update.started_at is not None:
            body["started_at"] = runbridge.format_timestamp(update.started_at)
        if update.finished_at is not None:
            body["ended_at"] = runbridge.format_timestamp(update.finished_at)
        return await self._patch(call, run_id, body)

    async def cancel(self, call: Call, run_id: str) -> Run:
        # Cyberdesk has no cancel endpoint; cancelling is a status update.
        return await self._patch(call, run_id, {"status": "cancelled"})

    async def _patch(self, call: Call, run_id: str, body: Mapping[str, Any]) -> Run:
        response = await call.request(
            "PATCH",
            call.path("/v1/runs/{}", run_id),
            json=dict(body),
            headers={"Idempotency-Key": call.idempotency_key},
            idempotent=True,
        )
        return self.to_run(call, response.data)

    async def retry(self, call: Call, run_id: str, options: Mapping[str, Any]) -> Run:
        body: dict[str, Any] = {}
        for key, value in options.items():
            wire_key = _RETRY_ALIASES.get(key, key)
            if wire_key not in RETRY_OPTIONS:
                raise call.invalid(f"cyberdesk cannot retry with option {key!r}", field=key)
            if wire_key in body:
                raise call.invalid(f"option {key!r} is given twice", field=key)
            if key == "files":
                value = _file_inputs(call, value)
            elif wire_key in ("input_values", "sensitive_input_values") and isinstance(
                value, Mapping
            ):
                value = dict(value)
            body[wire_key] = value
        secrets = body.get("sensitive_input_values")
        if isinstance(secrets, Mapping) and secrets:
            # The core only knows the secrets of a create; mask these ones too.
            call.add_secrets(secrets)
        response = await call.request(
            "POST",
            call.path("/v1/runs/{}/retry", run_id),
            json=body,
            headers={"Idempotency-Key": call.idempotency_key},
            idempotent=True,
        )
        return self.to_run(call, response.data)

    async def delete(self, call: Call, run_id: str) -> None:
        await call.request(
            "DELETE",
            call.path("/v1/runs/{}", run_id),
            headers={"Idempotency-Key": call.idempotency_key},
            expect=(204,),
            idempotent=True,
        )


@attrs.define
class _Job:
    """Requests that share one request body, and their positions in the caller's list."""

    body: dict[str, Any]
    indices: list[int]
    bulk: bool


def _create_body(call: Call, request: RunRequest) -> dict[str, Any]:
    if request.name is not None:
        raise call.invalid("cyberdesk runs have no name", field="name")
    body: dict[str, Any] = {"workflow_id": _workflow_id(call, request.target)}
    for key, value in request.options.items():
        if key in CANONICAL_FIELDS:
            raise call.invalid(
                f"option {key!r} is set through RunRequest.{CANONICAL_FIELDS[key]}", field=key
            )
        if key not in CREATE_OPTIONS:
            raise call.invalid(f"cyberdesk runs take no option {key!r}", field=key)
        body[key] = value
    if request.inputs:
        body["input_values"] = dict(request.inputs)
    if request.secrets:
        body["sensitive_input_values"] = dict(request.secrets)
    if request.files:
        body["file_inputs"] = _file_inputs(call, request.files)
    return body


def _workflow_id(call: Call, target: str) -> str:
    workflow_id = UUID_FORMAT.normalize(target)
    if workflow_id is None:
        raise call.invalid(
            f"target {target[:64]!r} is not a cyberdesk workflow id (a UUID)", field="target"
        )
    return workflow_id


def _file_inputs(call: Call, files: object) -> list[dict[str, Any]]:
    if not isinstance(files, Iterable) or isinstance(files, str | bytes | Mapping):
        raise call.invalid("files must be a sequence of runbridge.File", field="files")
    out: list[dict[str, Any]] = []
    for item in files:
        if not isinstance(item, runbridge.File):
            raise call.invalid("files must be a sequence of runbridge.File", field="files")
        if item.content is None:
            raise call.invalid(
                f"file {item.name!r}: cyberdesk takes file content, not uploaded file ids",
                field="files",
            )
        out.append(
            {"filename": item.name, "content": base64.b64encode(item.content).decode("ascii")}
        )
    return out


def _field_from_loc(loc: object) -> str | None:
    if not isinstance(loc, list | tuple):
        return None
    parts = [str(part) for part in loc]
    if parts and parts[0] in _LOC_PREFIXES:
        parts = parts[1:]
    return ".".join(parts) or None


def _cost(usage: Mapping[str, Any] | None) -> Decimal | None:
    if not usage:
        return None
    for key in _COST_KEYS:
        value = usage.get(key)
        if value is None or isinstance(value, bool):
            continue
        try:
            return runbridge.parse_decimal(value)
        except ValueError:
            continue
    return None
