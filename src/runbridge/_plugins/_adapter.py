"""The contract an adapter fulfils: declarations as data, and one translation per operation."""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import attrs

from .._model._canonical import held, new_ref
from .._model._capabilities import Capabilities, IdFormat
from .._model._errors import InvalidRequest, UnsupportedOperation
from .._model._events import RunEvent
from .._model._mapping import ErrorInfo, ErrorMap, StatusMap
from .._model._options import NO_OPTIONS, Options
from .._model._run import Hold, Page, Run, RunFilter, RunRef, RunRequest, RunStatus, RunUpdate
from .._wire._bulk import Chunk, ChunkResult
from .._wire._throttle import RateHeaders

if TYPE_CHECKING:
    import cattrs

    from .._wire._call import Call

UPDATE_FIELDS = frozenset(
    {"status", "outputs", "inputs", "failure", "started_at", "finished_at", "cost", "progress"}
)
"""Every canonical field of a ``RunUpdate`` besides ``options``."""


def secret_setting(*, default: str | None = None) -> Any:
    """An attrs field for a credential setting: redacted everywhere, kept out of reprs."""
    return attrs.field(default=default, repr=False, metadata={"secret": True})


@attrs.define
class NoSettings:
    """Settings of an adapter that takes none beyond token and base URL."""


REQUIRED: tuple[tuple[str, type], ...] = (
    ("name", str),
    ("id_format", IdFormat),
    ("capabilities", Capabilities),
    ("default_base_url", str),
)
"""The declarations every adapter makes, with their types: registration checks them."""

TO_READ_RUNS: tuple[str, ...] = ("statuses", "wire_run", "run_from")
"""What an adapter provides to read runs (or it overrides ``to_run`` itself)."""

OPERATION_METHODS: Mapping[str, tuple[str, ...]] = {
    "list": ("list_page",),
    "create_many": ("bulk_item", "send_chunk"),
}
"""The methods a native operation needs overridden (by default, the operation's name)."""


class Adapter:
    """Base class of adapters: declare the class attributes, override what you support.

    An adapter translates between canonical objects and its provider's wire
    format. It never owns sessions, retries, pagination loops, bulk chunking or
    the lost-create lookup: each operation receives a ``Call`` through which it
    makes HTTP requests, and the core checks every argument the declarations
    describe (ids, options, update fields) before the adapter is called.

    What a plugin must provide (``REQUIRED``, ``TO_READ_RUNS``, ``OPERATION_METHODS``):

    - declarations ``name``, ``id_format``, ``capabilities``, ``default_base_url``
      (registration refuses an adapter without them);
    - to read runs, ``statuses``, ``wire_run`` and ``run_from`` (or its own
      ``to_run``): the conformance kit fails without them;
    - for each operation ``capabilities`` declares native, its method (``list_page``
      for ``list``, ``bulk_item`` and ``send_chunk`` for ``create_many``): registration
      refuses a native operation left unimplemented.

    Every other member is optional: its default is safe, and the docstring of each
    says when to override it.
    """

    name: ClassVar[str]
    """Required. Provider name used in refs, configuration and entry points."""
    id_format: ClassVar[IdFormat]
    """Required. Shape of run ids, checked before any request is built and on every run read."""
    capabilities: ClassVar[Capabilities]
    """Required. What the provider supports and how it pages."""
    statuses: ClassVar[StatusMap]
    """Required to read runs. Native run statuses and their canonical meaning (read by
    the conformance kit)."""
    errors: ClassVar[ErrorMap] = ErrorMap()
    """Error responses that do not mean what their HTTP status usually means."""
    default_base_url: ClassVar[str]
    """Required. Where the real provider lives."""
    settings_type: ClassVar[type[Any]] = NoSettings
    """An attrs class of provider settings; fields with ``metadata={"secret": True}``
    are redacted everywhere."""
    emulator: ClassVar[str | None] = None
    """Import path ``module:factory`` of this adapter's emulator, if it ships one."""

    create_options: ClassVar[Options] = NO_OPTIONS
    """Provider options ``create`` (and ``create_many``, and an emulated ``retry``) take."""
    update_options: ClassVar[Options] = NO_OPTIONS
    """Provider options ``update`` takes, besides the canonical fields."""
    retry_options: ClassVar[Options] = NO_OPTIONS
    """Provider options a native ``retry`` takes."""
    file_options: ClassVar[Options] = NO_OPTIONS
    """Provider options a ``File`` may carry."""
    update_fields: ClassVar[frozenset[str]] = UPDATE_FIELDS
    """Canonical ``RunUpdate`` fields the provider can change."""
    idempotent_create: ClassVar[bool] = False
    """Whether ``create`` sends ``call.idempotency_key`` and the provider answers a
    repeated key with the original run: creates are then sent again, with the same
    key, after a lost answer, and ``resolve`` settles one by sending it again."""
    rate_headers: ClassVar[RateHeaders | None] = None
    """The headers in which the provider reports its remaining quota on every answer, if
    it documents such headers: a client with limits of its own pauses when they say the
    quota is spent, before a 429."""
    settle_window: ClassVar[float] = 60.0
    """Seconds after a create was last sent by which the provider has certainly finished
    with it and lists any run it made: a lookup that finds nothing concludes "no run"
    only after this (``ClientOptions.settle_window`` overrides it per client)."""
    transitions: ClassVar[Mapping[RunStatus, frozenset[RunStatus]] | None] = None
    """The status moves ``update`` may ask for, when the provider documents its own
    (``runbridge.adapter.TRANSITIONS`` otherwise): checked before any request."""
    retry_from_payload: ClassVar[bool] = True
    """Whether ``retry_request`` can rebuild a run's request from what the provider
    reports. When not, the core retries only runs whose request it remembers (those
    this client created) and refuses others before any request."""

    wire_run: ClassVar[type[Any]]
    """Required to read runs (unless ``to_run`` is overridden). The wire class of a run
    payload, with an ``id`` field: a msgspec ``Struct`` (decoded straight from response
    bytes), or an attrs class with ``converter``."""
    converter: ClassVar[cattrs.Converter | None] = None
    """The adapter's cattrs converter (``make_converter()``) when ``wire_run`` is an
    attrs class; ``None`` for msgspec structs."""

    def __init__(self, settings: Any = None) -> None:
        self.settings = settings if settings is not None else self.settings_type()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"

    # -- configuration ----------------------------------------------------------------

    def instance_capabilities(self) -> Capabilities:
        """Capabilities of this configured adapter; settings may take some away."""
        return self.capabilities

    def unsupported_reason(self, operation: str) -> str | None:
        """Why ``operation`` is unsupported here, when there is more to say than that."""
        return None

    def base_url(self) -> str:
        """The base URL to use when the caller gives none."""
        return self.default_base_url

    def canonical_target(self, target: str) -> str:
        """The canonical spelling of a target, so equal targets compare equal."""
        return target

    def auth_headers(self, token: str) -> Mapping[str, str]:
        """Headers that authenticate every request."""
        return {"Authorization": f"Bearer {token}"}

    def parse_error(self, status: int, body: Any) -> ErrorInfo:
        """Read message, provider code and field out of an error body."""
        if isinstance(body, Mapping):
            message = body.get("message") or body.get("detail") or body.get("error")
            code = body.get("code")
            return ErrorInfo(
                message=message if isinstance(message, str) else None,
                code=code if isinstance(code, str) else None,
            )
        return ErrorInfo()

    # -- checks beyond the declarations (all called before any request) ----------------

    def check_options(self, operation: str, options: Mapping[str, Any]) -> None:
        """Refuse option values the declarations cannot describe (combinations, contents).

        Called after the core checked ``options`` against the operation's
        ``Options``; raise ``InvalidRequest``. The default accepts.
        """

    def check_update(self, update: RunUpdate) -> None:
        """Refuse an update the declarations allow but the provider cannot apply as asked.

        Raise ``InvalidRequest``, or ``UnsupportedOperation`` when a setting is
        missing. The default accepts.
        """

    # -- exactly-once creates without an idempotency key --------------------------------

    def tag(self, request: RunRequest, token: str) -> RunRequest | None:
        """``request`` marked with a client token the provider keeps, or ``None``.

        Adapters whose provider has no idempotency key implement this (and
        ``token_of`` or ``claims``) so the core can find a run whose create
        response was lost instead of creating it twice. ``None`` means creates are
        sent once and an ambiguous failure is reported to the caller.
        """
        return None

    def token_of(self, run: Run) -> str | None:
        """The client token ``tag`` put on the run, if any."""
        return None

    def claims(self, run: Run, request: RunRequest, token: str) -> bool | None:
        """Whether ``run`` is the one ``request`` (as ``tag`` returned it) created.

        ``None`` means the record at hand cannot say (a listing left out the
        field that carries the token): the core reads the run again. The default
        compares ``token_of(run)`` with ``token``.
        """
        return self.token_of(run) == token

    async def search_tagged(self, call: Call, request: RunRequest, token: str) -> list[Run] | None:
        """The runs the provider finds by the token itself, or ``None`` when it cannot search.

        The core then walks the listing of ``lookup_target(request)`` instead.
        """
        return None

    def lookup_target(self, request: RunRequest) -> str | None:
        """The target whose runs the lookup walks; ``None`` walks every run."""
        return self.canonical_target(request.target)

    # -- reading ----------------------------------------------------------------------

    def to_run(self, call: Call, payload: Any, raw: Mapping[str, Any] | None = None) -> Run:
        """The canonical run for one of the provider's run payloads.

        ``payload`` is a ``wire_run`` already decoded (``call.request(..., into=...)``),
        with ``raw`` its full payload (``response.raw(...)``); or plain JSON values,
        which the core checks are an object and structures into ``wire_run``. Either
        way the id must match ``id_format``; any failure is a ``ResponseError``. Then
        ``run_from`` translates.
        """
        if type(payload) is self.wire_run:
            wire = payload
        else:
            if type(payload) is not dict and not isinstance(payload, Mapping):
                raise call.bad_response("expected a run object", body=payload)
            wire = call.structure(self.converter, payload, self.wire_run)
        if raw is None:
            raw = payload if isinstance(payload, Mapping) else {}
        raw_id = wire.id
        run_id = self.id_format.normalize(raw_id) if isinstance(raw_id, str) else None
        if run_id is None:
            shown = repr(raw_id)[:64]
            raise call.bad_response(
                f"run id {shown} does not match the {self.id_format.name} format", body=raw
            )
        statuses = self.statuses
        try:
            # The id was just checked: the ref is built without checking it again.
            run = self.run_from(wire, new_ref(self.name, run_id), raw)
            holds = statuses.holds
            if holds and run.hold is None:
                native = run.native_status
                if isinstance(native, str) and native in statuses.to_canonical:
                    kind = holds.get(native)  # a value as declared: no loose lookup
                else:
                    kind = statuses.hold_kind(native)
                if kind:
                    run = held(run, Hold(kind))
            return run
        except (ValueError, TypeError, OverflowError, KeyError, AttributeError) as exc:
            problem = f"{type(exc).__name__}: {exc}"
        # Outside the handler: the exception may quote the payload. A value the wire
        # struct accepted but the translation cannot use (a timestamp out of range in
        # UTC, say) is the provider's malformed answer, never a crash.
        raise call.bad_response(f"cannot read run {run_id}: {problem}"[:500], body=raw)

    def run_from(self, wire: Any, ref: RunRef, payload: Mapping[str, Any]) -> Run:
        """Required to read runs. The canonical run from a decoded wire run; ``payload``
        becomes ``Run.raw``."""
        raise self._unsupported("parse")

    # -- run events (webhooks) ---------------------------------------------------------

    def verify_event(
        self,
        headers: Mapping[str, str],
        body: bytes,
        secrets: Sequence[str],
        *,
        now: float,
        tolerance: float,
    ) -> str:
        """Verify a delivery's signature (and signed timestamp, where the scheme has one)
        against each of ``secrets``, before anything in it is read; return the event id,
        as a ``VerifiedId`` whose ``replay_key`` comes only from signed material (a plain
        ``str`` makes the receiver key replays on a digest of the body).

        Raise ``EventRejected``. ``runbridge.adapter.verify_standard_webhook`` and
        ``verify_hmac_hex`` implement the usual schemes. Adapters of providers that push
        run events declare ``Capabilities(events=True)`` and implement this and
        ``event_from``.
        """
        raise self._unsupported("events")

    def event_from(self, call: Call, payload: Any, event_id: str) -> RunEvent:
        """The event a verified delivery's JSON ``payload`` reports.

        Build the run with ``to_run`` (a partial payload leaves unknown fields ``None``).
        Raise ``EventRejected(reason="malformed")`` for a payload that is not an event of
        this provider, ``reason="ignored"`` for one that is, but not a run event; a
        ``ResponseError`` from ``to_run`` is turned into ``malformed`` by the core.
        """
        raise self._unsupported("events")

    def retry_request(self, run: Run) -> RunRequest:
        """The request that starts a run again, for retries the core emulates."""
        if not run.target:
            raise InvalidRequest(
                "cannot retry a run whose target is unknown",
                field="target",
                provider=self.name,
                operation="retry",
            )
        return RunRequest(target=run.target, inputs=dict(run.inputs), name=run.name)

    def _unsupported(self, operation: str) -> UnsupportedOperation:
        return UnsupportedOperation(
            f"{self.name} does not support {operation}", provider=self.name, operation=operation
        )

    # -- operations -------------------------------------------------------------------

    async def create(self, call: Call, request: RunRequest) -> Run:
        """Start one run."""
        raise self._unsupported("create")

    def bulk_item(self, call: Call, request: RunRequest) -> tuple[Hashable, Any] | None:
        """Where ``request`` goes in a native bulk create: ``(group, item)``.

        Requests of one group may share a bulk request; ``item`` is what
        ``send_chunk`` will send for it. ``None`` has the core create it singly
        (exactly once, like any create). Raise ``InvalidRequest`` for a bad request.
        """
        raise self._unsupported("create_many")

    async def send_chunk(self, call: Call, chunk: Chunk) -> ChunkResult:
        """Send one chunk of a bulk create (at most ``capabilities.max_batch`` items).

        Use ``chunk.key`` as the idempotency key. Raise ``UnsupportedOperation``
        before anything is created to have the core create the chunk's runs singly.
        """
        raise self._unsupported("create_many")

    async def get(self, call: Call, run_id: str) -> Run:
        """Read one run."""
        raise self._unsupported("get")

    async def list_page(
        self, call: Call, filters: RunFilter, cursor: str | None, limit: int | None
    ) -> Page:
        """Read one page; ``cursor`` is this adapter's own, from a previous page."""
        raise self._unsupported("list")

    async def update(self, call: Call, run_id: str, update: RunUpdate) -> Run:
        """Change some fields of a run."""
        raise self._unsupported("update")

    async def cancel(self, call: Call, run_id: str) -> Run:
        """Cancel a run that has not finished."""
        raise self._unsupported("cancel")

    async def retry(self, call: Call, run_id: str, options: Mapping[str, Any]) -> Run:
        """Run a finished run again, natively."""
        raise self._unsupported("retry")

    async def delete(self, call: Call, run_id: str) -> None:
        """Delete a run."""
        raise self._unsupported("delete")

    async def pause(self, call: Call, run_id: str, reason: str | None) -> Run:
        """Pause a run that has not finished; it stays paused until ``resume``."""
        raise self._unsupported("pause")

    async def resume(self, call: Call, run_id: str) -> Run:
        """Let a paused run go on."""
        raise self._unsupported("resume")
