"""The Runflow emulator's declarations, seeding and provider hooks (``RunflowBase``)."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar, Literal

from aiohttp import web

from runbridge.emulation import (
    CREDENTIAL,
    BearerAuth,
    Clock,
    CreatedRun,
    Emulator,
    Faults,
    RateVerdict,
    RunStore,
    Timeline,
    read_json,
)

from ._facts import (
    ASSUMED_CODES,
    DOCUMENTED_CODES,
    OPTIONAL_FIELDS,
    QUERY_FIELDS,
    STATUSES,
    split_name,
    uuid_text,
)
from ._query import Invalid
from ._records import Batch, EmuRun, EmuTarget, uuid7
from ._render import run_json

CursorStyle = Literal["token", "path", "url", "pq"]


class RunflowBase(Emulator):
    """What the Runflow emulator declares: statuses, errors, keys, targets and seeded runs."""

    provider = "runflow"
    auth = BearerAuth()
    statuses = STATUSES
    extras: ClassVar[Mapping[str, str]] = {
        "model_owner": "an 'owner' key in the nested model object (undocumented)",
        "comfyui_workflow": (
            "a nested 'comfyui_workflow' object {id, owner, slug} on runs (undocumented)"
        ),
    }
    operations: ClassVar[Mapping[tuple[str, str], str]] = {
        ("POST", "/v1/models/{ref}/runs"): "create",
        ("POST", "/v1/comfyui-workflows/{ref}/runs"): "create",
        ("POST", "/v1/models/{ref}/batches"): "create_many",
        ("GET", "/v1/comfyui-workflows/{owner}/{slug}/runs"): "list",
        ("GET", "/v1/runs"): "list",
        ("GET", "/v1/runs/statuses"): "statuses",
        ("GET", "/v1/runs/{id}"): "get",
        ("PATCH", "/v1/runs/{id}"): "update",
        ("GET", "/v1/runs/{id}/callback"): "callback_deliveries",
        ("POST", "/v1/runs/{id}/callback-redeliveries"): "redeliver_callback",
        ("POST", "/v1/admin/runs/{id}/cancellation"): "cancel",
        ("GET", "/v1/batches/{id}"): "get_batch",
        ("GET", "/v1/batches/{id}/items"): "batch_items",
        ("GET", "/v1/batches/{batch_id}/items/{id}"): "batch_item",
    }
    status_field = "status_code"
    run_keys = frozenset({"target_type"})  # batches and batch items have ids and statuses too
    optional_fields = OPTIONAL_FIELDS

    def __init__(
        self,
        *,
        token: str | None = None,
        admin_token: str | None = None,
        clock: Clock | None = None,
        organization_id: str | None = None,
        cursor_style: CursorStyle = "token",
        query_fields: Iterable[str] = QUERY_FIELDS,
        max_batch_items: int | None = None,
        id_routes: bool = True,
        failure_fields: bool = True,
        callback_secret: str | None = None,
        default_callback_url: str | None = None,
        faults: Faults | None = None,
        extras: Iterable[str] = (),
        rate_limit: str | int | None = None,
        rate_window: float = 60.0,
    ) -> None:
        super().__init__(
            token=token or f"rf_live_{secrets.token_hex(16)}",
            clock=clock,
            faults=faults,
            extras=extras,
            rate_limit=rate_limit,
            rate_window=rate_window,
        )
        self.admin_token = admin_token or f"rf_svc_{secrets.token_hex(16)}"
        """The admin key; only it may use ``/v1/admin/*``."""
        self.organization_id = organization_id or str(uuid.uuid4())
        """The keys' own organization, used when no ``X-Organization-Id`` is sent."""
        self.cursor_style: CursorStyle = cursor_style
        """How ``next``/``previous`` look: a bare ``pq`` token (documented default
        assumption), a path, a URL, or ``next_pq``/``prev_pq`` fields (``"pq"``)."""
        self.query_fields = frozenset(query_fields)
        """Fields ``q`` may filter on; others are refused with 422."""
        if max_batch_items is not None and max_batch_items < 1:
            raise ValueError("max_batch_items must be at least 1")
        self.max_batch_items = max_batch_items
        """Most items one batch may hold; ``None``: no limit, as documented."""
        self.id_routes = id_routes
        """Whether create and batch paths take a target's id for ``{owner}/{slug}``
        (ASSUMPTION, on by default: runbridge's own suites create by id; the docs
        give only the path form)."""
        self.failure_fields = failure_fields
        """Whether run records carry ``failure_code``/``_message``/``_stage_code`` (the
        newer reference pages; the get-run page lists none of them)."""
        self.user_id = str(uuid.uuid4())
        self.targets: dict[str, EmuTarget] = {}
        """Seeded targets by path (``models/acme/echo/v1``)."""
        self.runs: RunStore[EmuRun] = RunStore(self, order=lambda run: run.rank)
        """Runs by id, in listing order (creation time, then creation number)."""
        self.batches: dict[str, Batch] = {}
        """Batches by id; their ``Idempotency-Key`` answers are kept by ``runs``."""
        self._default_target = self.add_model("acme/echo/v1")
        self.callback_secret = callback_secret or f"rf_cb_{secrets.token_hex(16)}"
        """The key of ``Runflow-Signature`` on callbacks."""
        self.default_callback_url = default_callback_url
        """Where runs that name no ``callback_url`` are called back; ``None`` (the
        documented behaviour): nowhere. A convenience for one receiver of every run."""

    # -- seeding ------------------------------------------------------------------------

    def add_model(
        self,
        name: str,
        *,
        template_backed: bool = True,
        nodes: int = 3,
        price: str = "0.04",
        required: Sequence[str] = (),
        available: bool = True,
        target_id: str | None = None,
    ) -> str:
        """Seed a model ``owner/slug[/more...]``; returns its target ``models/<model_id>``.

        ``available=False`` makes its creates answer 503 ``MODEL_UNAVAILABLE``;
        ``target_id`` chooses its id (a UUID; random by default).
        """
        return self._add(
            "models", name, template_backed, nodes, price, required, available, target_id
        )

    def add_workflow(
        self,
        name: str,
        *,
        nodes: int = 5,
        price: str = "0.02",
        required: Sequence[str] = (),
        target_id: str | None = None,
    ) -> str:
        """Seed a ComfyUI workflow ``owner/slug``; returns ``comfyui-workflows/<id>``."""
        return self._add("comfyui-workflows", name, False, nodes, price, required, True, target_id)

    def _add(
        self,
        kind: str,
        name: str,
        template_backed: bool,
        nodes: int,
        price: str,
        required: Sequence[str],
        available: bool,
        target_id: str | None,
    ) -> str:
        parts = split_name(kind, name.removeprefix(kind + "/"))
        if parts is None:
            raise ValueError(f"{name!r} is not a valid {kind} name")
        ident = uuid_text(target_id) if target_id is not None else str(uuid.uuid4())
        if ident is None:
            raise ValueError(f"target_id {target_id!r} is not a UUID")
        owner, slug = parts
        seeded = EmuTarget(
            kind, owner, slug, ident, template_backed, nodes, price, tuple(required), available
        )
        self.targets[seeded.path] = seeded
        return seeded.target

    def path_of(self, target: str) -> str:
        """The path target (``models/<owner>/<slug>``) of a seeded target in either form."""
        found = self._named(target)
        if found is None:
            raise KeyError(f"no seeded target {target!r}")
        return found.path

    def _named(self, target: str) -> EmuTarget | None:
        """The seeded target ``target`` names, as ``models/<owner>/<slug>`` or ``models/<id>``."""
        return self.lookup(*target.split("/", 1)) if "/" in target else None

    def add_target(self) -> str:
        """``models/<id>`` of a new model ``acme/model-<n>``."""
        n = len(self.targets) + 1
        while f"models/acme/model-{n}" in self.targets:
            n += 1
        return self.add_model(f"acme/model-{n}")

    def target_key(self, target: str) -> str | None:
        """The id form (``models/<id>``) of a seeded target named in either form."""
        found = self._named(target)
        return None if found is None else found.target

    def seed_run(
        self,
        target: str,
        timeline: Timeline,
        *,
        inputs: dict[str, Any],
        name: str | None,
        options: dict[str, Any],
    ) -> str:
        """A run of ``target`` (either form); ``options`` may give its ``metadata``,
        ``client_ref``, ``callback_url`` and ``org_id`` (default: the keys' own)."""
        if name is not None:
            raise ValueError("runflow runs have no name")
        if unknown := sorted(set(options) - {"metadata", "client_ref", "callback_url", "org_id"}):
            raise TypeError(f"a seeded runflow run has no field {unknown[0]!r}")
        found = self._named(target)
        assert found is not None  # target_key found it
        run = EmuRun(
            id=uuid7(timeline.created),
            seq=self.next_seq(),
            org_id=options.get("org_id") or self.organization_id,
            target=found,
            input=inputs,
            metadata=options.get("metadata") or {},
            callback_url=options.get("callback_url"),
            client_ref=options.get("client_ref"),
            timeline=timeline,
        )
        return self.runs.add(run).id

    def lookup(self, kind: str, ref: str) -> EmuTarget | None:
        """The seeded target of ``kind`` named by ``owner/slug`` or by its id."""
        ident = uuid_text(ref)
        if ident is None:
            return self.targets.get(f"{kind}/{ref}")
        return next((t for t in self.targets.values() if (t.kind, t.id) == (kind, ident)), None)

    def routed(self, kind: str, ref: str) -> EmuTarget | None:
        """The target a create or batch path names: ``{owner}/{slug}`` (documented) or,
        ASSUMPTION, while ``id_routes`` is on, the target's id."""
        if uuid_text(ref) is not None and not self.id_routes:
            return None
        return self.lookup(kind, ref)

    # -- Emulator hooks -----------------------------------------------------------------

    @property
    def default_target(self) -> str:
        """``models/<id>`` of the seeded model ``acme/echo/v1``: the canonical form."""
        return self._default_target

    def unknown_id(self) -> str:
        return str(uuid.uuid4())

    def client_settings(self) -> dict[str, Any]:
        return {"admin_token": self.admin_token}

    def accepted_tokens(self) -> tuple[str, ...]:
        return (self.token, self.admin_token)

    def error_body(
        self, status: int, message: str, *, code: str | None = None, details: Any = None
    ) -> Any:
        """``{code, message, errors}`` (``/concepts/errors``)."""
        if code is None:
            fallback = "INTERNAL_ERROR" if status >= 500 else "BAD_REQUEST"
            code = DOCUMENTED_CODES.get(status) or ASSUMED_CODES.get(status, fallback)
        return {"code": code, "message": message, "errors": details}

    def route_error_body(self, status: int, message: str) -> Any:
        # A path no route takes is not a missing run: NOT_FOUND, not RUN_NOT_FOUND.
        return self.error_body(status, message, code="NOT_FOUND" if status == 404 else None)

    def auth_error(self, request: web.Request) -> web.Response:
        return self.error(401, "missing or invalid API key", code="UNAUTHORIZED")

    def rate_limited(self, verdict: RateVerdict, headers: dict[str, str]) -> web.Response:
        """``429 {"code":"RATE_LIMITED","message":"Rate limit exceeded: ..."}`` and no
        headers: "429 responses do not currently carry rate-limit headers"."""
        message = f"Rate limit exceeded: {verdict.limit} requests per {verdict.window:g} s"
        return self.error(429, message, code="RATE_LIMITED")

    def is_admin(self, request: web.Request) -> bool:
        """Whether the request authenticated with the admin key."""
        return request.get(CREDENTIAL) == self.admin_token

    def org_of(self, request: web.Request) -> str:
        """The organization a request acts in: ``X-Organization-Id`` or the key's own."""
        return request.headers.get("X-Organization-Id") or self.organization_id

    def invalid(self, exc: Invalid) -> web.Response:
        """A 422 naming where the bad value was (ASSUMPTION: FastAPI-like entries)."""
        detail = {"loc": exc.loc, "msg": str(exc), "type": "value_error"}
        return self.error(422, "Validation failed", details=[detail])

    async def body(self, request: web.Request) -> Any:
        """The decoded JSON body; ``Invalid`` when it is not JSON."""
        try:
            return await read_json(request)
        except ValueError:
            raise Invalid("body is not valid JSON", ["body"]) from None

    def next_seq(self) -> int:
        """The next creation number (from 1); it orders runs and batches."""
        return self.runs.next_seq() + 1

    def callback_url_of(self, run: EmuRun) -> str | None:
        """Where ``run``'s callback goes: its own ``callback_url``, else the default."""
        return run.callback_url or self.default_callback_url

    # -- runs ---------------------------------------------------------------------------

    def query_view(self, run: EmuRun) -> dict[str, Any]:
        """What ``q`` can filter a run on, without rendering the whole record."""
        model = run.target.kind == "models"
        view: dict[str, Any] = {
            "id": run.id,
            "status_code": self.native_status(run.timeline),
            "target_type": run.target.target_type,
            "model_id": run.target.id if model else None,
            "comfyui_workflow_id": None if model else run.target.id,
            "flow_id": None,
            "org_id": run.org_id,
            "batch_id": run.batch_id,
            "client_ref": run.client_ref,
            "source_code": None,
            "request_id": run.request_id,
        }
        view.update((k, v) for k, v in run.patched.items() if k in view)
        return view

    def run_json(self, run: EmuRun, *, fresh: bool = False) -> dict[str, Any]:
        """The run record; ``fresh`` renders it as create returns it (``queued``)."""
        return run_json(self, run, fresh=fresh)

    def finished(self, run: EmuRun) -> bool:
        """Whether the run has ended (a plan's undocumented native status counts)."""
        return run.timeline.phase(self.now()) == "finished"

    def new_run(
        self,
        target: EmuTarget,
        org_id: str,
        data: Mapping[str, Any],
        *,
        batch_id: str | None = None,
    ) -> EmuRun:
        """Create a run from a checked create body (or batch item)."""
        now = self.now()
        run = EmuRun(
            id=uuid7(now),
            seq=self.next_seq(),
            org_id=org_id,
            target=target,
            input=data["input"],
            metadata=data.get("metadata") or {},
            callback_url=data.get("callback_url"),
            client_ref=data.get("client_ref"),
            timeline=Timeline(now, self.take_plan(target.target)),
            batch_id=batch_id,
        )
        self.runs.add(run)
        options = {k: v for k, v in data.items() if k != "input" and v not in (None, {})}
        if batch_id is not None:
            options["batch_id"] = batch_id
        self.record_created(
            CreatedRun(id=run.id, target=target.target, inputs=dict(run.input), options=options)
        )
        return run
