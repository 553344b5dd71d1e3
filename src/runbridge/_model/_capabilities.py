"""What a provider can do: operations, pagination, filters, reported fields, id format."""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping

import attrs

OPERATIONS = (
    "create",
    "create_many",
    "get",
    "list",
    "update",
    "cancel",
    "retry",
    "delete",
    "pause",
    "resume",
)
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
    PAGE = "page"
    """Page numbers. The adapter's cursor is the offset of the next run, not a page
    number (``runbridge.adapter.PageNumbers``), so a listing resumed with another page
    size continues where it stopped, neither losing nor repeating runs."""
    TOKEN = "token"  # noqa: S105 - a pagination style, not a credential
    CURSOR = "cursor"

    def __str__(self) -> str:
        return self.value


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
    events: bool = False
    """Whether the provider pushes run events (webhooks) that ``RunClient.parse_event``
    and ``runbridge.EventReceiver`` verify and read."""

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
        events: bool = False,
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
            events,
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
