"""The contract an adapter fulfils: identity, capabilities, mappings, and translations."""

from __future__ import annotations

import enum
import itertools
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar

import attrs

from ._errors import (
    AuthError,
    Conflict,
    CreateUnconfirmed,
    InvalidRequest,
    NotFound,
    ProviderUnavailable,
    RateLimited,
    ResponseError,
    RunbridgeError,
    UnsupportedOperation,
)
from ._model import BulkResult, Page, Run, RunFilter, RunRef, RunRequest, RunStatus, RunUpdate

if TYPE_CHECKING:
    from ._transport import Call

OPERATIONS = ("create", "create_many", "get", "list", "update", "cancel", "retry", "delete")
"""Every operation a client offers, in the order capability tables show them."""

_EMULABLE = {"create_many": "create", "retry": "create"}


class Support(enum.Enum):
    """How a provider offers an operation."""

    NATIVE = "native"
    EMULATED = "emulated"
    UNSUPPORTED = "unsupported"

    def __str__(self) -> str:
        return self.value


class Pagination(enum.Enum):
    """How a provider pages through lists."""

    OFFSET = "offset"
    TOKEN = "token"  # noqa: S105 - a pagination style, not a credential
    CURSOR = "cursor"

    def __str__(self) -> str:
        return self.value


LOOKUP_SKEW = timedelta(seconds=60)
"""How far a provider's clock may lag ours: the lost-create lookup's window opens this
long before the create was first sent. Wider lets a lagging clock hide our run; narrower
lets an older run that happens to match be taken for ours."""

FILTERS = frozenset({"target", "status", "created_after", "created_before"})
"""Names of the list filters a provider may apply server-side."""

RUN_FIELDS = frozenset(
    {"target", "name", "inputs", "outputs", "started_at", "finished_at", "cost", "progress"}
)
"""Optional ``Run`` fields a provider may or may not report (``Capabilities.reports``)."""


@attrs.frozen
class Capabilities:
    """What an adapter can do natively, what the core emulates, and how it pages."""

    operations: Mapping[str, Support] = attrs.field(hash=False)
    pagination: Pagination
    max_page_size: int
    filters: frozenset[str] = frozenset()
    max_batch: int | None = None
    secrets: bool = True
    """Whether the provider can take sensitive inputs (``RunRequest.secrets``) safely."""
    reports: frozenset[str] = RUN_FIELDS
    """Which optional ``Run`` fields the provider's run objects carry (see ``RUN_FIELDS``)."""
    newest_first: bool = False
    """Whether listings come newest first, so a search by creation time may stop early."""
    notes: Mapping[str, str] = attrs.field(factory=dict, hash=False)
    """Caveats per operation, e.g. when an emulated operation works only sometimes."""

    @classmethod
    def of(
        cls,
        *,
        native: Iterable[str],
        emulated: Iterable[str] = (),
        pagination: Pagination,
        max_page_size: int,
        filters: Iterable[str] = (),
        max_batch: int | None = None,
        secrets: bool = True,
        reports: Iterable[str] = RUN_FIELDS,
        newest_first: bool = False,
        notes: Mapping[str, str] | None = None,
    ) -> Capabilities:
        """Build capabilities from the operations a provider has and those to emulate."""
        native, emulated = set(native), set(emulated)
        unknown = (native | emulated) - set(OPERATIONS)
        if unknown:
            raise ValueError(f"unknown operations: {sorted(unknown)}")
        for op in emulated:
            if op not in _EMULABLE:
                raise ValueError(f"the core cannot emulate {op!r}")
            if _EMULABLE[op] not in native:
                raise ValueError(f"emulating {op!r} needs native {_EMULABLE[op]!r}")
        if native & emulated:
            raise ValueError(f"both native and emulated: {sorted(native & emulated)}")
        if bad := set(filters) - FILTERS:
            raise ValueError(f"unknown filters: {sorted(bad)}")
        if bad := set(reports) - RUN_FIELDS:
            raise ValueError(f"unknown run fields: {sorted(bad)}")
        if bad := set(notes or {}) - set(OPERATIONS):
            raise ValueError(f"notes for unknown operations: {sorted(bad)}")
        ops = {
            op: Support.NATIVE
            if op in native
            else Support.EMULATED
            if op in emulated
            else Support.UNSUPPORTED
            for op in OPERATIONS
        }
        return cls(
            ops,
            pagination,
            max_page_size,
            frozenset(filters),
            max_batch,
            secrets,
            frozenset(reports),
            newest_first,
            dict(notes or {}),
        )

    def support(self, operation: str) -> Support:
        """How ``operation`` is offered."""
        return self.operations.get(operation, Support.UNSUPPORTED)


@attrs.frozen
class IdFormat:
    """The shape of a provider's run ids; checked before an id reaches a URL."""

    name: str
    pattern: re.Pattern[str]
    lowercase: bool = False

    @classmethod
    def regex(cls, name: str, pattern: str, *, lowercase: bool = False) -> IdFormat:
        """An id format given by a full-match regular expression."""
        return cls(name, re.compile(pattern), lowercase)

    def normalize(self, value: str) -> str | None:
        """The id in canonical spelling, or ``None`` when it does not match."""
        if not isinstance(value, str) or len(value) > 256:
            return None
        candidate = value.lower() if self.lowercase else value
        return candidate if self.pattern.fullmatch(candidate) else None


UUID_FORMAT = IdFormat.regex(
    "uuid",
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
    lowercase=True,
)
"""Hyphenated UUIDs, accepted in any case and sent lower-case."""


@attrs.frozen
class ErrorInfo:
    """What an adapter could read out of an error body."""

    message: str | None = None
    code: str | None = None
    field: str | None = None


def _default_for(status: int) -> type[RunbridgeError]:
    if status in (401, 403):
        return AuthError
    if status == 404:
        return NotFound
    if status == 409:
        return Conflict
    if status in (400, 422):
        return InvalidRequest
    if status == 429:
        return RateLimited
    if status == 408 or status >= 500:
        return ProviderUnavailable
    return ResponseError


@attrs.frozen
class ErrorMap:
    """An adapter's error mapping as data: provider codes first, then HTTP statuses.

    Anything not listed falls back to the usual meaning of the status
    (401/403 auth, 404 not found, 409 conflict, 400/422 invalid, 429 rate
    limited, 5xx unavailable, other statuses not understood).
    """

    statuses: Mapping[int, type[RunbridgeError]] = attrs.field(factory=dict, hash=False)
    codes: Mapping[str, type[RunbridgeError]] = attrs.field(factory=dict, hash=False)

    def error_for(self, status: int, code: str | None) -> type[RunbridgeError]:
        """The error class for a response with this status and provider code."""
        if code is not None and code in self.codes:
            return self.codes[code]
        return self.statuses.get(status) or _default_for(status)


@attrs.frozen
class StatusMap:
    """Native status values to canonical ones; unknown values become ``UNKNOWN``."""

    to_canonical: Mapping[str, RunStatus] = attrs.field(hash=False)
    native_for: Mapping[RunStatus, tuple[str, ...]] = attrs.field(init=False, hash=False)

    @native_for.default
    def _invert(self) -> Mapping[RunStatus, tuple[str, ...]]:
        out: dict[RunStatus, list[str]] = {}
        for native, canonical in self.to_canonical.items():
            out.setdefault(canonical, []).append(native)
        return {k: tuple(v) for k, v in out.items()}

    def canonical(self, native: object) -> RunStatus:
        """The canonical status for a native value; never raises."""
        if isinstance(native, str):
            return self.to_canonical.get(native, RunStatus.UNKNOWN)
        return RunStatus.UNKNOWN

    def natives(self, status: RunStatus) -> tuple[str, ...]:
        """Every native value that maps to ``status``."""
        return self.native_for.get(status, ())


def secret_setting(*, default: str | None = None) -> Any:
    """An attrs field for a credential setting: redacted everywhere, kept out of reprs."""
    return attrs.field(default=default, repr=False, metadata={"secret": True})


@attrs.define
class NoSettings:
    """Settings of an adapter that takes none beyond token and base URL."""


def _past(page: Page, after: datetime | None, newest_first: bool) -> bool:
    """Whether a newest-first listing has gone past ``after`` with this page.

    The order is trusted only when the page shows it: a server that lists in
    another order than declared is searched to the end rather than cut short.
    """
    if after is None or not newest_first or not page.items:
        return False
    times = [run.created_at for run in page.items if run.created_at is not None]
    if len(times) < len(page.items):
        return False
    ordered = all(a >= b for a, b in itertools.pairwise(times))
    return ordered and times[-1] < after


class Adapter:
    """Base class of adapters: declare the class attributes, override what you support.

    An adapter translates between canonical objects and its provider's wire
    format. It never owns sessions, retries or pagination loops: each operation
    receives a ``Call`` through which it makes HTTP requests.
    """

    name: ClassVar[str]
    """Provider name used in refs, configuration and entry points."""
    id_format: ClassVar[IdFormat]
    """Shape of run ids, checked before any request is built."""
    capabilities: ClassVar[Capabilities]
    """What the provider supports and how it pages."""
    errors: ClassVar[ErrorMap] = ErrorMap()
    """Mapping of error responses to runbridge errors."""
    default_base_url: ClassVar[str]
    """Where the real provider lives."""
    settings_type: ClassVar[type[Any]] = NoSettings
    """An attrs class of provider settings; fields with ``metadata={"secret": True}``
    are redacted everywhere."""
    emulator: ClassVar[str | None] = None
    """Import path ``module:factory`` of this adapter's emulator, if it ships one."""
    retry_from_payload: ClassVar[bool] = True
    """Whether ``retry_request`` can rebuild a run's request from what the provider
    reports. When not, the core retries only runs whose request it remembers (those
    this client created) and refuses others before any request."""

    def __init__(self, settings: Any = None) -> None:
        self.settings = settings if settings is not None else self.settings_type()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"

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

    def check_options(self, operation: str, options: Mapping[str, Any]) -> None:
        """Raise ``InvalidRequest`` for provider options ``operation`` cannot take.

        Called before any request is made, so bad options never reach the wire
        even when the core must read the run first. The default accepts all.
        """

    def check_update(self, update: RunUpdate) -> None:
        """Raise ``InvalidRequest`` for an update the provider cannot apply.

        Called before any request (the core may read the run first to check a
        status change). The default checks ``update.options``.
        """
        self.check_options("update", update.options)

    def tag(self, request: RunRequest, token: str) -> RunRequest | None:
        """``request`` marked with a client token the provider keeps, or ``None``.

        Adapters whose provider has no idempotency key implement this (and
        ``token_of``) so the core can find a run whose create response was lost
        instead of creating it twice. ``None`` means creates are sent once and an
        ambiguous failure is reported to the caller.
        """
        return None

    def token_of(self, run: Run) -> str | None:
        """The client token ``tag`` put on the run, if any."""
        return None

    def claims(self, run: Run, request: RunRequest, token: str) -> bool:
        """Whether ``run`` is the one ``request`` (as ``tag`` returned it) created.

        The default compares ``token_of(run)`` with ``token``.
        """
        return self.token_of(run) == token

    async def find_tagged(
        self,
        call: Call,
        request: RunRequest,
        token: str,
        *,
        since: datetime | None = None,
        exclude: Collection[RunRef] = (),
    ) -> Run | None:
        """The run created from ``request`` with client ``token``, if the provider has it.

        ``since`` is when the create was first sent: runs created well before it
        (``LOOKUP_SKEW``) are not candidates, and neither are the runs in ``exclude``
        (those the client knows it created for other calls). The default walks the target's runs,
        every page, and stops early only where listings come newest first. More
        than one candidate raises ``CreateUnconfirmed`` with all of them: a guess
        could hand the caller someone else's run. Override it where the provider
        can search by the token itself.
        """
        size = min(100, self.capabilities.max_page_size)
        after = since - LOOKUP_SKEW if since is not None else None
        filters = RunFilter(target=self.canonical_target(request.target), created_after=after)
        found: list[Run] = []
        cursor: str | None = None
        seen: set[str] = set()
        while True:
            page = await self.list_page(call, filters, cursor, size)
            for run in page.items:
                too_old = (
                    after is not None and run.created_at is not None and run.created_at < after
                )
                if not too_old and run.ref not in exclude and self.claims(run, request, token):
                    found.append(run)
            cursor = page.next_cursor
            if cursor is None or _past(page, after, self.capabilities.newest_first):
                break
            if cursor in seen:
                raise call.bad_response("the listing repeated a cursor during the lookup")
            seen.add(cursor)
        if len(found) > 1:
            raise CreateUnconfirmed(
                f"{len(found)} runs could be the one this create made; not guessing "
                f"({', '.join(str(r.ref) for r in found[:5])})",
                token=token,
                candidates=tuple(found),
                provider=self.name,
                operation="create",
            )
        return found[0] if found else None

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

    def to_run(self, call: Call, payload: Any) -> Run:
        """The canonical run for one of the provider's run payloads."""
        raise self._unsupported("parse")

    async def create(self, call: Call, request: RunRequest) -> Run:
        """Start one run."""
        raise self._unsupported("create")

    async def create_many(self, call: Call, requests: Sequence[RunRequest]) -> BulkResult:
        """Start several runs in as few requests as the provider allows."""
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
