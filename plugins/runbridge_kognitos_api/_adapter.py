"""The Kognitos API 1.0 adapter: runs of an automation, invoked, paused and continued."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import attrs

from runbridge import (
    Capabilities,
    ConfigError,
    Conflict,
    Failure,
    Hold,
    Page,
    Pagination,
    Run,
    RunbridgeError,
    RunRef,
    RunRequest,
    RunStatus,
)
from runbridge.adapter import (
    Adapter,
    Call,
    ErrorInfo,
    IdFormat,
    RunFilter,
    format_timestamp,
    new_run,
    parse_timestamp,
)

from ._cursor import ListCursor
from ._digest import NO_INPUTS, digest, digest_of_wire, is_digest
from ._names import AUTOMATION_PATH, RUN_ID, RUN_PATH, Automation, RunName, is_id, parse_target
from ._rpc import ERRORS, parse_status
from ._states import STATUSES, State
from ._values import BadValue, decode_values, encode_inputs
from ._wire import WireInvoked, WireList, WireRun

PROVIDER = "kognitos-api"

REGIONS: Mapping[str, str] = {
    "us": "https://app.us-1.kognitos.com",
    "eu": "https://app.eu-1.kognitos.com",
}
"""The host of each region (``eu-1`` per the plugin notes)."""

STAGE_NAMES = {"AUTOMATION_STAGE_DRAFT": "draft"}
"""Run stages other than published, as target suffixes."""

# Module constants: on Python 3.11 an enum member read off its class costs several times
# a plain attribute, and these are read for every run of a page.
_TO_CANONICAL = STATUSES.to_canonical
_UNKNOWN, _FAILED, _SUCCEEDED = RunStatus.UNKNOWN, RunStatus.FAILED, RunStatus.SUCCEEDED
_CANCELLED = RunStatus.CANCELLED

PAGE_MAX = 1000
"""Largest ``page_size`` the API honours (larger ones are cut to it)."""

DEFAULT_PAUSE_REASON = "paused through runbridge"
"""The reason sent when ``pause`` is given none: the API requires one."""

NOTES = {
    "create": (
        "no idempotency key and no run name: after a lost answer the run is looked up "
        "among the automation's runs created since (filter on create_time) and matched "
        "on target, stage and inputs; none found after the settle window: sent again; "
        "several: CreateUnconfirmed"
    ),
    "list": (
        "needs target='organizations/<o>/workspaces/<w>/automations/<a>[@draft]'; "
        "created_after/created_before go to the server as a create_time filter"
    ),
    "pause": "POST :pause; the run goes stopping, then stopped (held as paused)",
    "resume": "POST :continue on a stopped run",
}
"""Caveats of the operations, as ``Capabilities.notes``."""


@attrs.define
class KognitosApiSettings:
    """Settings of the Kognitos API adapter."""

    region: str = "us"
    """Which host to talk to: ``us`` (default) or ``eu``."""
    organization: str | None = None
    """With ``workspace``, lets a target name only ``<automation>[@draft]``."""
    workspace: str | None = None
    """The workspace of short targets."""


class KognitosApiAdapter(Adapter):
    """Kognitos API 1.0: Bearer tokens, resource names, state objects, typed values."""

    name = PROVIDER
    id_format = IdFormat.regex("Kognitos run resource name", RUN_ID)
    default_base_url = REGIONS["us"]
    settings_type = KognitosApiSettings
    emulator = "runbridge_kognitos_api.emulator:KognitosApiEmulator"
    capabilities = Capabilities.of(
        native={"create", "get", "list", "pause", "resume"},
        emulated={"create_many", "retry"},
        pagination=Pagination.TOKEN,
        max_page_size=PAGE_MAX,
        filters={"target", "created_after", "created_before"},
        secrets=False,
        reports={"target", "inputs", "outputs", "finished_at"},
        newest_first=False,  # the order is undocumented: never relied on
        notes=NOTES,
    )
    statuses = STATUSES
    errors = ERRORS
    wire_run = WireRun
    update_fields = frozenset()

    settings: KognitosApiSettings

    def __init__(self, settings: KognitosApiSettings | None = None) -> None:
        super().__init__(settings)
        if self.settings.region not in REGIONS:
            raise ConfigError(
                f"unknown region {self.settings.region!r}; use one of {', '.join(REGIONS)}",
                field="region",
                provider=self.name,
            )
        for field in ("organization", "workspace"):
            value = getattr(self.settings, field)
            if value is not None and not (isinstance(value, str) and is_id(value)):
                raise ConfigError(
                    f"{field} must be an id of 1-52 of A-Za-z0-9_-", field=field, provider=self.name
                )

    def base_url(self) -> str:
        """The host of the configured region."""
        return REGIONS[self.settings.region]

    def _parse(self, text: object) -> Automation | str:
        return parse_target(text, self.settings.organization, self.settings.workspace)

    def canonical_target(self, target: str) -> str:
        """The full resource name; ``@published`` (the default stage) left out."""
        parsed = self._parse(target)
        return str(parsed) if isinstance(parsed, Automation) else target

    def parse_error(self, status: int, body: Any) -> ErrorInfo:
        """Read an ``rpcStatus``: the gRPC code (by name), its message, the field at fault."""
        return parse_status(body) or super().parse_error(status, body)

    # -- exactly-once without a key or a name -------------------------------------------

    def tag(self, request: RunRequest, token: str) -> RunRequest | None:
        """The request named with a digest of its inputs (never sent): nothing of ours
        is kept on a run, so a lost create is recognised by what it asked for, and the
        journal keeps the digest for a process that resolves it later (``claims``).
        ``None`` (untagged; ``create`` then says why) for a request ``create`` refuses."""
        if request.name is not None or not isinstance(self._parse(request.target), Automation):
            return None
        try:
            return attrs.evolve(request, name=digest(request.inputs))
        except BadValue:
            return None

    def claims(self, run: Run, request: RunRequest, token: str) -> bool | None:
        """Whether ``run`` ran the request's automation and stage with its inputs.

        ``None`` when the run's record leaves its inputs out though the request had
        some (gateways leave an empty ``user_inputs`` out, so absent is empty).
        """
        if not is_digest(request.name) or run.target != self.canonical_target(request.target):
            return False
        raw = run.raw.get("user_inputs")
        if raw is None and request.name != NO_INPUTS:
            return None
        return digest_of_wire(raw) == request.name

    # -- reading ------------------------------------------------------------------------

    def run_from(self, wire: WireRun, ref: RunRef, payload: Mapping[str, Any]) -> Run:
        """A canonical run from a ``v1Run``."""
        state = State.read(wire.state)
        native = state.key
        status = (_TO_CANONICAL.get(native) or STATUSES.canonical(native)) if native else _UNKNOWN
        target = None
        if ref.id == wire.name:
            # The name is the id ``to_run`` has just checked against ``RUN_ID``: the
            # automation is all of it before ``/runs/``.
            target = wire.name.rpartition("/runs/")[0]
            if (stage := STAGE_NAMES.get(wire.stage or "")) is not None:
                target = f"{target}@{stage}"
        elif (name := RunName.parse(wire.name)) is not None:
            stage = STAGE_NAMES.get(wire.stage or "", "published")
            target = str(attrs.evolve(name.automation, stage=stage))
        failure = outputs = hold = None
        if status is _FAILED:
            failure = Failure(
                STATUSES.failure_kind(native or ""), state.text("description"), state.text("id")
            )
        elif status is _SUCCEEDED:
            outputs = decode_values(state.fields.get("outputs"), "outputs")
        elif native is not None and (kind := STATUSES.hold_kind(native)):
            hold = Hold(kind, state.text())
        created = wire.create_time
        return new_run(
            ref,
            status,
            native_status=native,
            target=target,
            inputs=decode_values(wire.user_inputs, "user_inputs"),
            outputs=outputs,
            failure=failure,
            created_at=created
            if created is None or created.tzinfo is UTC
            else parse_timestamp(created),
            # Identity, not set membership: an enum member's hash is a Python call.
            finished_at=_parse_time(state.since)
            if status is _SUCCEEDED or status is _FAILED or status is _CANCELLED
            else None,
            hold=hold,
            raw=payload,
        )

    # -- operations ---------------------------------------------------------------------

    def _automation(self, call: Call, text: object) -> Automation:
        parsed = self._parse(text)
        if isinstance(parsed, str):
            raise call.invalid(parsed, field="target")
        return parsed

    async def create(self, call: Call, request: RunRequest) -> Run:
        """``POST :invoke`` with typed inputs, then ``GET`` the run it names."""
        automation = self._automation(call, request.target)
        if request.name is not None and not is_digest(request.name):
            raise call.invalid("Kognitos API runs have no name; leave name unset", field="name")
        if request.files:
            raise call.invalid(
                "the invoke takes no files: pass a file as an input value, "
                "Value({'file': {'remote': ...}}) or {'file': {'inline': ...}}",
                field="files",
            )
        try:
            inputs = encode_inputs(request.inputs)
        except BadValue as exc:
            raise call.invalid(str(exc), field="inputs") from None
        response = await call.request(
            "POST",
            call.path(AUTOMATION_PATH + ":invoke", *automation.segments),
            json={"stage": automation.wire_stage, "inputs": inputs},
            into=WireInvoked,
        )
        invoked: WireInvoked = response.data
        run_id = _run_name(automation, invoked.run_id)
        if run_id is None:
            raise call.bad_response(
                f"run_id {invoked.run_id[:80]!r} is not a run id", body=response.raw()
            )
        try:
            return await self.get(call, run_id)
        except RunbridgeError:
            # The run exists: the invoke said so. A read that fails right after (the
            # new run not listed yet, a lost answer) must not make the create look failed.
            return Run(
                ref=RunRef(self.name, run_id),
                status=RunStatus.PENDING,
                native_status="pending",
                target=str(automation),
                inputs=dict(request.inputs),
                raw={"run_id": invoked.run_id},
            )

    async def get(self, call: Call, run_id: str) -> Run:
        """``GET .../runs/{run}``."""
        response = await call.request("GET", self._run_path(call, run_id), into=WireRun)
        return self.to_run(call, response.data, response.raw())

    def _run_path(self, call: Call, run_id: str, verb: str = "") -> str:
        name = RunName.parse(run_id)
        if name is None:  # pragma: no cover - ids are checked against RUN_ID first
            raise call.invalid(f"{run_id[:120]!r} is not a run resource name", field="run_id")
        return call.path(RUN_PATH + verb, *name.segments)

    async def list_page(
        self, call: Call, filters: RunFilter, cursor: str | None, limit: int | None
    ) -> Page:
        """``GET .../runs`` of the target's automation, filtered on ``create_time``."""
        if filters.target is None:
            raise call.invalid(
                f"{self.name} lists the runs of one automation: pass target="
                "'organizations/<o>/workspaces/<w>/automations/<a>[@draft]'",
                field="target",
            )
        automation = self._automation(call, filters.target)
        if cursor is None:
            size = min(limit, PAGE_MAX) if limit else None
            at = ListCursor(None, size, _filter(filters.created_after, filters.created_before))
        elif (decoded := ListCursor.decode(cursor)) is not None:
            at = decoded
        else:
            raise call.invalid(f"cursor is not a {self.name} list cursor", field="cursor")
        params: dict[str, str] = {}
        if at.page_size is not None:
            params["page_size"] = str(at.page_size)
        if at.filter is not None:
            params["filter"] = at.filter
        if at.token is not None:
            params["page_token"] = at.token
        response = await call.request(
            "GET",
            call.path(AUTOMATION_PATH + "/runs", *automation.segments),
            params=params,
            into=WireList,
        )
        wire: WireList = response.data
        items = wire.runs or []
        kept, following = at.cut(range(len(items)), limit, wire.next_page_token)
        to_run, raw = self.to_run, response.raw
        runs = tuple(to_run(call, items[n], raw("runs", n)) for n in kept)
        return Page(runs, following.encode() if following is not None else None)

    async def pause(self, call: Call, run_id: str, reason: str | None) -> Run:
        """``POST :pause`` with the reason (the API requires one)."""
        body = {"reason": reason or DEFAULT_PAUSE_REASON}
        return await self._move(call, run_id, ":pause", body, arrived={"stopping", "stopped"})

    async def resume(self, call: Call, run_id: str) -> Run:
        """``POST :continue``."""
        return await self._move(call, run_id, ":continue", {}, arrived={"pending", "executing"})

    async def _move(
        self, call: Call, run_id: str, verb: str, body: dict[str, str], arrived: set[str]
    ) -> Run:
        # Sent again after a lost answer: pausing a paused run changes nothing. The second
        # answer may then be FAILED_PRECONDITION; the run, read, says whether it arrived.
        try:
            response = await call.request(
                "POST",
                self._run_path(call, run_id, verb),
                json=body,
                idempotent=True,
                into=WireRun,
            )
        except Conflict:
            run = await self.get(call, run_id)
            if run.native_status is not None and run.native_status.lower() in arrived:
                return run
            raise
        return self.to_run(call, response.data, response.raw())


def _run_name(automation: Automation, run_id: str) -> str | None:
    """The resource name of the run ``:invoke`` named: a bare id (as the spec suggests),
    or a full name of this automation (tolerated)."""
    if is_id(run_id):
        return f"{attrs.evolve(automation, stage='published')!s}/runs/{run_id}"
    name = RunName.parse(run_id)
    if name is not None and name.automation.segments == automation.segments:
        return run_id
    return None


def _parse_time(text: str | None) -> datetime | None:
    try:
        return parse_timestamp(text.replace("Z", "+00:00")) if text else None
    except (ValueError, OverflowError):  # an odd time never makes the run unreadable
        return None


def _filter(after: datetime | None, before: datetime | None) -> str | None:
    """The AIP-160 ``filter`` on ``create_time`` (both bounds inclusive), or ``None``."""
    terms = []
    if after is not None:
        terms.append(f'create_time >= "{format_timestamp(after)}"')
    if before is not None:
        terms.append(f'create_time <= "{format_timestamp(before)}"')
    return " AND ".join(terms) or None
