"""The Cyberdesk adapter: canonical runs to and from the ``/v1/runs`` API."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from datetime import UTC
from decimal import Decimal
from typing import Any

import runbridge
from runbridge import Failure, Page, Run, RunRef, RunRequest, RunStatus, RunUpdate
from runbridge.adapter import (
    RUN_FIELDS,
    UUID_FORMAT,
    Adapter,
    Call,
    Capabilities,
    Chunk,
    ChunkResult,
    ErrorInfo,
    EventRejected,
    Pagination,
    RateHeaders,
    RunEvent,
    RunFilter,
    format_timestamp,
    new_run,
    parse_decimal,
    parse_timestamp,
    verify_standard_webhook,
)

from . import _bulk
from ._bodies import create_body, file_problem, retry_body, update_body, workflow_id
from ._options import (
    CREATE_OPTIONS,
    FILE_OPTIONS,
    RETRY_ALIASES,
    RETRY_OPTIONS,
    UPDATE_FIELDS,
    UPDATE_OPTIONS,
)
from ._wire import STATUSES, WirePage, WireRun, strings

MAX_BATCH = _bulk.MAX_BATCH

EVENT_TYPE = "run_complete"
"""The webhook event Cyberdesk sends when a run finishes (``RunCompletedEvent``)."""

_COST_KEYS = ("total_cost_usd", "cost_usd")
"""``usage_metadata`` keys read as the run's cost (USD) when they hold a number."""

_LOC_PREFIXES = frozenset({"body", "query", "path", "header", "cookie"})

_SETTABLE = frozenset(status for status in RunStatus if status is not RunStatus.UNKNOWN)
"""Every canonical status ``PATCH`` can set (the update document's enum covers each)."""

_NOTES = {
    "create_many": "identical requests share one POST /v1/runs/bulk (chunks of 1000); "
    "requests with create-only options are created one by one",
    "list": "a 'running' or 'failed' status filter covers two native statuses and is "
    "applied client-side",
    "update": "any status to any status (the update document forbids no move); failed is "
    "sent as error (task_failed for a task failure); no cost or progress fields; cost is "
    "read from usage_metadata, which options={'usage_metadata': ...} sets",
    "cancel": "no cancel endpoint: PATCH status=cancelled (assumed); whether the provider "
    "then stops the work on the machine is not documented",
    "retry": "in place (same id), finished runs only; a refusal by the provider "
    "(400 or 409, undocumented) is Conflict",
}


class CyberdeskAdapter(Adapter):
    """Runs of Cyberdesk workflows; the target is the workflow id (a UUID)."""

    name = "cyberdesk"
    idempotent_create = True  # every write carries Idempotency-Key; a repeat gets the first answer
    # Documented on every answer while rate limiting is on (no numbers published);
    # **assumption**: Reset is when the window renews, epoch or seconds from now.
    rate_headers = RateHeaders(
        remaining="X-RateLimit-Remaining", reset="X-RateLimit-Reset", limit="X-RateLimit-Limit"
    )
    id_format = UUID_FORMAT
    default_base_url = "https://api.cyberdesk.io"
    emulator = "runbridge_cyberdesk.emulator:CyberdeskEmulator"
    capabilities = Capabilities.of(
        native={"create", "create_many", "get", "list", "update", "cancel", "retry", "delete"},
        pagination=Pagination.OFFSET,
        max_page_size=1000,
        filters={"target", "status", "created_after", "created_before"},
        max_batch=MAX_BATCH,
        # Runs have no name and no progress; cost only where usage_metadata holds one.
        reports=RUN_FIELDS - {"name", "progress"},
        newest_first=True,  # list_page asks for sort_mode=created_at_desc
        notes=_NOTES,
        events=True,  # the run_complete webhook, delivered by Svix
    )
    statuses = STATUSES
    # PATCH sets any status its enum has, from any status (the update document names
    # no forbidden move); cancel and retry keep the core's own rules.
    transitions = dict.fromkeys(_SETTABLE, _SETTABLE)

    # Options as data (``_options``): the core checks them before any request.
    create_options = CREATE_OPTIONS
    file_options = FILE_OPTIONS
    retry_options = RETRY_OPTIONS
    update_options = UPDATE_OPTIONS
    update_fields = UPDATE_FIELDS

    # -- reading ----------------------------------------------------------------------

    def canonical_target(self, target: str) -> str:
        """Workflow ids compare lower-case."""
        return _workflow(target)

    def parse_error(self, status: int, body: Any) -> ErrorInfo:
        """Read FastAPI's ``{"detail": "text"}`` and ``{"detail": [{loc, msg, type}]}``."""
        if isinstance(body, str) and body.strip():
            return ErrorInfo(message=body.strip()[:500])
        if not isinstance(body, Mapping):
            return ErrorInfo()
        detail = body.get("detail")
        if isinstance(detail, str):
            return ErrorInfo(message=detail)
        if isinstance(detail, Mapping):
            # Not documented, but FastAPI lets an HTTPException carry an object.
            text = detail.get("message") or detail.get("msg") or detail.get("detail")
            code = detail.get("code") or detail.get("type")
            return ErrorInfo(
                message=text if isinstance(text, str) else None,
                code=code if isinstance(code, str) else None,
            )
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

    # Responses decode straight into ``WireRun``; ``run_from`` translates one.
    wire_run = WireRun

    def run_from(self, wire: WireRun, ref: RunRef, payload: Mapping[str, Any]) -> Run:
        """A canonical run from a ``RunResponse``."""
        native = wire.status
        failure = None
        if native == "error" or native == "task_failed":
            message = "; ".join(strings(wire.error)) or None
            failure = Failure("system" if native == "error" else "task", message)
        # msgspec reads the timestamps as datetimes already: only one that is not in UTC
        # (or has no offset) goes through ``parse_timestamp``.
        created, started, ended = wire.created_at, wire.started_at, wire.ended_at
        usage = wire.usage_metadata
        return new_run(
            ref,
            STATUSES.to_canonical.get(native) or STATUSES.canonical(native),
            native_status=native,
            target=_workflow(wire.workflow_id),
            inputs=wire.input_values or {},
            outputs=wire.output_data,
            failure=failure,
            created_at=created if created.tzinfo is UTC else parse_timestamp(created),
            started_at=started
            if started is None or started.tzinfo is UTC
            else parse_timestamp(started),
            finished_at=ended if ended is None or ended.tzinfo is UTC else parse_timestamp(ended),
            cost=_cost(usage) if usage else None,
            raw=payload,
        )

    # -- run events (the run_complete webhook, Standard Webhooks signed by Svix) ---------

    def verify_event(
        self,
        headers: Mapping[str, str],
        body: bytes,
        secrets: Sequence[str],
        *,
        now: float,
        tolerance: float,
    ) -> str:
        """Check the Standard Webhooks signature (``webhook-*`` or ``svix-*`` headers) over
        the body's exact bytes; the replay key is the signed ``webhook-id``."""
        return verify_standard_webhook(
            headers, body, secrets, now=now, tolerance=tolerance, provider=self.name
        )

    def event_from(self, call: Call, payload: Any, event_id: str) -> RunEvent:
        """``{event_id, event_type: "run_complete", occurred_at, run: RunResponse}``.

        The id is the payload's ``event_id``, else the delivery's (``webhook-id``);
        other event types are acknowledged and not delivered (``ignored``).
        """
        kind = payload.get("event_type")
        if kind != EVENT_TYPE:
            raise EventRejected(
                f"event type {str(kind)[:64]!r} is not a run event runbridge reads",
                reason="ignored" if isinstance(kind, str) else "malformed",
                provider=self.name,
                operation="event",
            )
        run = payload.get("run")
        if not isinstance(run, Mapping):
            raise call.bad_response("run_complete event without a run object")
        own_id = payload.get("event_id")
        try:
            occurred = parse_timestamp(payload.get("occurred_at"))
        except (ValueError, TypeError, OverflowError):
            raise call.bad_response("occurred_at is not a timestamp") from None
        return RunEvent(
            id=own_id if isinstance(own_id, str) and own_id else event_id,
            type=kind,
            run=self.to_run(call, run),
            occurred_at=occurred,
            raw=payload,
        )

    # -- checks made before any request -----------------------------------------------

    def check_options(self, operation: str, options: Mapping[str, Any]) -> None:
        """A retry field given under two spellings, or a file Cyberdesk cannot take.

        ``retry`` takes ``inputs``, ``secrets`` and ``files`` for ``input_values``,
        ``sensitive_input_values`` and ``file_inputs``; ``files`` holds
        ``runbridge.File`` objects, whose options are checked as a create's are.
        """
        if operation != "retry":
            return
        spelled: dict[str, str] = {}
        for key in options:
            wire_key = RETRY_ALIASES.get(key, key)
            if wire_key in spelled:
                raise self._invalid(
                    f"option {key!r} is given twice (also as {spelled[wire_key]!r})", key
                )
            spelled[wire_key] = key
        files = options.get("files") or ()
        if problem := file_problem(files):
            raise self._invalid(problem, "files")
        for n, item in enumerate(files):
            self.file_options.check(
                item.options,
                provider=self.name,
                operation=operation,
                where=f"options.files.{n}.options",
            )

    def _invalid(self, message: str, key: str) -> runbridge.InvalidRequest:
        return runbridge.InvalidRequest(
            message, field=f"options.{key}", provider=self.name, operation="retry"
        )

    # -- operations -------------------------------------------------------------------

    async def create(self, call: Call, request: RunRequest) -> Run:
        response = await call.request(
            "POST",
            "/v1/runs",
            json=create_body(call, request),
            headers={"Idempotency-Key": call.idempotency_key},
            expect=(201,),
            idempotent=True,
            into=WireRun,
        )
        return self.to_run(call, response.data, response.raw())

    def bulk_item(self, call: Call, request: RunRequest) -> tuple[bytes, dict[str, Any]] | None:
        return _bulk.bulk_item(call, request)

    async def send_chunk(self, call: Call, chunk: Chunk) -> ChunkResult:
        return await _bulk.send_chunk(call, chunk, self.to_run)

    async def get(self, call: Call, run_id: str) -> Run:
        response = await call.request("GET", call.path("/v1/runs/{}", run_id), into=WireRun)
        return self.to_run(call, response.data, response.raw())

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
            params.append(("workflow_id", workflow_id(call, filters.target)))
        if len(filters.statuses) == 1:
            natives = STATUSES.natives(next(iter(filters.statuses)))
            # ``running`` covers two natives and the server takes one value: the
            # core filters the rest client-side.
            if len(natives) == 1:
                params.append(("status", natives[0]))
        if filters.created_after is not None:
            params.append(("created_at_from", format_timestamp(filters.created_after)))
        if filters.created_before is not None:
            params.append(("created_at_to", format_timestamp(filters.created_before)))
        response = await call.request("GET", "/v1/runs", params=params, into=WirePage)
        wire: WirePage = response.data
        to_run, raw = self.to_run, response.raw
        items = tuple(to_run(call, item, raw("items", n)) for n, item in enumerate(wire.items))
        following = skip + len(items)
        next_cursor = str(following) if items and following < wire.total else None
        # The envelope's total bounds the listing: the core stops one that outgrows it.
        return Page(items, next_cursor, total=wire.total if wire.total >= 0 else None)

    async def update(self, call: Call, run_id: str, update: RunUpdate) -> Run:
        return await self._patch(call, run_id, update_body(update))

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
            into=WireRun,
        )
        return self.to_run(call, response.data, response.raw())

    async def retry(self, call: Call, run_id: str, options: Mapping[str, Any]) -> Run:
        body = retry_body(options)
        secrets = body.get("sensitive_input_values")
        if isinstance(secrets, Mapping) and secrets:
            # The core only knows the secrets of a create; mask these ones too.
            call.add_secrets(secrets)
        try:
            response = await call.request(
                "POST",
                call.path("/v1/runs/{}/retry", run_id),
                json=body,
                headers={"Idempotency-Key": call.idempotency_key},
                idempotent=True,
                into=WireRun,
            )
        except runbridge.InvalidRequest as exc:
            if exc.status != 400:
                raise
            # The docs reject retrying an active run without saying how: 400 or 409.
            # Either is the run's state refusing the write, so callers catch one class.
            raise runbridge.Conflict(
                exc.message,
                provider=exc.provider,
                operation=exc.operation,
                status=exc.status,
                body=exc.body,
            ) from None
        return self.to_run(call, response.data, response.raw())

    async def delete(self, call: Call, run_id: str) -> None:
        await call.request(
            "DELETE",
            call.path("/v1/runs/{}", run_id),
            headers={"Idempotency-Key": call.idempotency_key},
            expect=(204,),
            idempotent=True,
        )


@functools.lru_cache(maxsize=1024)
def _workflow(target: str) -> str:
    """A workflow id in canonical spelling; a page's runs mostly share a few."""
    return UUID_FORMAT.normalize(target) or target


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
            return parse_decimal(value)
        except ValueError:
            continue
    return None
