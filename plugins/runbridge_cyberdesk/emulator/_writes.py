"""Cyberdesk's writes to runs: creating one, and ``PATCH``, ``retry`` and ``DELETE``."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from runbridge.emulation import CreatedRun, RunStore, json_response
from runbridge.emulation.fastapi import Issue, check_uuid

from . import _schemas as s
from ._records import Attachment, EmulatedRun
from ._views import RunViews

_PATH_ID = ("path", "run_id")
_CREATE_FIELDS = frozenset({"workflow_id", "input_values", "sensitive_input_values", "file_inputs"})
"""Create fields ``CreatedRun`` shows apart from its ``options``."""


class RunWrites(RunViews):
    """Runs made from create bodies, and the routes that change or remove one."""

    runs: RunStore[EmulatedRun]
    vault: dict[str, dict[str, Any]]
    attachments: dict[str, Attachment]

    def new_run(
        self, body: Mapping[str, Any], files: list[s.DecodedFile], session: Any
    ) -> EmulatedRun:
        """A run from a checked create body (or a bulk or chain body made into one)."""
        run_id = self.runs.new_id()
        metadata = body.get("model_metadata")
        if metadata is None and body.get("main_agent_model_id"):
            metadata = {
                "main_agent_model_id": s.uid(body["main_agent_model_id"]),
                "cache_detection_model_id": None,
                "fallback_model_1_id": None,
                "fallback_model_2_id": None,
            }
        run = EmulatedRun(
            id=run_id,
            workflow_id=s.uid(body["workflow_id"]),
            timeline=self.runs.timeline(s.uid(body["workflow_id"])),
            seq=self.runs.next_seq(),
            input_values=body.get("input_values"),
            machine_id=s.uid(body.get("machine_id")),
            pool_ids=s.uids(body.get("pool_ids")),
            session_id=session if session is not None else s.uid(body.get("session_id")),
            session_alias=body.get("session_alias"),
            release_session_after=body.get("release_session_after"),
            is_priority=bool(body.get("is_priority") or False),
            main_prompt=body.get("main_prompt"),
            model_metadata=metadata,
        )
        if run.session_id is None and body.get("start_session"):
            run.session_id = run_id  # a new session's id is the id of its first run
        self._give_secrets(run, body.get("sensitive_input_values"))
        self._give_files(run, files)
        self.runs.add(run)
        self.record_created(
            CreatedRun(
                id=run_id,
                target=run.workflow_id,
                inputs=dict(run.input_values or {}),
                options={k: v for k, v in body.items() if k not in _CREATE_FIELDS},
                secrets=tuple(body.get("sensitive_input_values") or ()),
            )
        )
        return run

    def _give_secrets(self, run: EmulatedRun, secrets: Mapping[str, Any] | None) -> None:
        if secrets:
            self.vault[run.id] = dict(secrets)
            run.sensitive_input_aliases = {key: f"vault:{uuid.uuid4()}" for key in secrets}

    def _give_files(self, run: EmulatedRun, files: list[s.DecodedFile]) -> None:
        if not files:
            return
        for old in run.input_attachment_ids or ():
            self.attachments.pop(old, None)
        run.input_attachment_ids = []
        for item in files:
            attachment = Attachment(
                str(uuid.uuid4()),
                run.id,
                item.filename,
                item.content,
                item.target_path,
                item.cleanup_imports_after_run,
            )
            self.attachments[attachment.id] = attachment
            run.input_attachment_ids.append(attachment.id)

    def _path_issues(self, request: web.Request) -> list[Issue]:
        return check_uuid(request.match_info["run_id"], _PATH_ID)

    def _find(self, request: web.Request) -> EmulatedRun | web.Response:
        run = self.runs.get(str(uuid.UUID(request.match_info["run_id"])))
        if run is None:
            return self.error(404, "Run not found")
        return run

    # -- handlers ---------------------------------------------------------------------

    async def _patch(self, request: web.Request) -> web.Response:
        body, issues = await self.body(request, s.RUN_UPDATE, frozenset())
        if issues := self._path_issues(request) + issues:
            return self.invalid(issues)
        found = self._find(request)
        if isinstance(found, web.Response):
            return found
        status = body.get("status")
        if status is not None:
            # A status written by a client holds: the clock no longer moves the run.
            found.timeline.pin(status, self.statuses.phase_of(status), self.now())
        if "input_values" in body:
            found.input_values = body["input_values"]
        if "release_session_after" in body:
            found.release_session_after = body["release_session_after"]
        found.patched.update({k: body[k] for k in s.PATCHABLE if k in body})
        for key in ("started_at", "ended_at"):
            if found.patched.get(key) is not None:
                found.patched[key] = s.stamp(found.patched[key])
        return json_response(self.run_json(found))

    async def _retry(self, request: web.Request) -> web.Response:
        body, issues = await self.body(request, s.RUN_RETRY, frozenset(), optional=True)
        issues = self._path_issues(request) + issues
        files: list[s.DecodedFile] = []
        if not issues:
            files, issues = s.decode_files(body)
        if issues:
            return self.invalid(issues)
        found = self._find(request)
        if isinstance(found, web.Response):
            return found
        now = self.now()
        status = self.native_status(found.timeline, now)
        if status not in s.TERMINAL:
            # The docs say an active run is rejected, not with which code (400 or 409).
            return self.error(
                409,
                f"Run is {status}; only terminal runs "
                "(success, task_failed, error, cancelled) can be retried",
            )
        found.timeline.restart(now, self.take_plan(found.workflow_id))
        for key in s.CLEARED_BY_RETRY:
            found.patched.pop(key, None)
        self._apply_retry(found, body, files)
        return json_response(self.run_json(found))

    def _apply_retry(
        self, run: EmulatedRun, body: Mapping[str, Any], files: list[s.DecodedFile]
    ) -> None:
        if body.get("input_values") is not None:
            run.input_values = body["input_values"]
        self._give_secrets(run, body.get("sensitive_input_values"))
        self._give_files(run, files)
        if body.get("machine_id") is not None:
            run.machine_id = s.uid(body["machine_id"])
        if body.get("pool_ids") is not None:
            run.pool_ids = s.uids(body["pool_ids"])
        for key in ("session_alias", "release_session_after", "is_priority"):
            if body.get(key) is not None:
                setattr(run, key, body[key])
        if body.get("reuse_session") is False and not body.get("session_id"):
            run.session_id = run.session_alias = None
        if body.get("session_id"):
            run.session_id = s.uid(body["session_id"])
        elif body.get("start_session"):
            run.session_id = str(uuid.uuid4())

    async def _delete(self, request: web.Request) -> web.Response:
        if issues := self._path_issues(request):
            return self.invalid(issues)
        found = self._find(request)
        if isinstance(found, web.Response):
            return found
        del self.runs[found.id]
        self.vault.pop(found.id, None)
        for attachment_id in found.input_attachment_ids or ():
            self.attachments.pop(attachment_id, None)
        return web.Response(status=204)
