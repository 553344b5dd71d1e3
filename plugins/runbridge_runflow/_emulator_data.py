"""Records, query filters and cursors behind the Runflow emulator."""

from __future__ import annotations

import base64
import binascii
import re
import secrets
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal, TypeVar

import attrs
import orjson
from aiohttp import web

from runbridge.emulation import Timeline, iso

T = TypeVar("T")

TERMINAL = frozenset(
    {"succeeded", "partial_succeeded", "failed", "errored", "canceled", "cancelled"}
)
SUCCEEDED = frozenset({"succeeded", "partial_succeeded"})
FAILED = frozenset({"failed", "errored"})
STATUSES = (
    ("queued", False),
    ("dispatching", False),
    ("running", False),
    ("succeeded", True),
    ("failed", True),
    ("canceled", True),
    ("partial_succeeded", True),
)
"""The documented ``status_code`` enum with terminality, as ``/v1/runs/statuses`` serves it."""

OPTIONAL_FIELDS = frozenset(
    {
        "target_version",
        "source_code",
        "input",
        "output",
        "context",
        "jurisdiction_code",
        "flow_version_id",
        "request_id",
        "created_by",
        "callback_url",
        "metadata",
        "cost",
        "cost_breakdown",
        "duration_ms",
        "nodes_total",
        "nodes_completed",
        "started_at",
        "completed_at",
        "has_logs",
        "has_node_runs",
        "links",
        "node_runs",
        "logs",
        "resolved_template_id",
        "batch_id",
        "client_ref",
        "failure_code",
        "failure_stage_code",
        "failure_message",
        "feedback_is_positive",
        "feedback_reason",
        "source_chat_message_id",
        "current_evaluation_summary",
    }
)
"""Run fields a ``missing_fields`` fault may drop: every field is nullable in the API,
but the id, status, creation time and what names the target stay."""

FAILURES = {
    "task": ("MODEL_ERROR", "execution", "the model failed on this input"),
    "system": ("DISPATCH_FAILED", "dispatch", "the execution provider could not be reached"),
    "timeout": ("TIMEOUT", "execution", "the run exceeded its time limit"),
}
"""``failure_code``, ``failure_stage_code`` and ``failure_message`` for each failure kind."""

QUERY_FIELDS = frozenset(
    {
        "id",
        "status_code",
        "target_type",
        "model_id",
        "comfyui_workflow_id",
        "batch_id",
        "client_ref",
    }
)
"""Fields ``q`` can filter on in the emulator."""

CursorStyle = Literal["token", "path", "url", "pq"]

ADMIN = web.RequestKey("runflow_admin", bool)
"""Whether the request authenticated with the admin key."""
ORG = web.RequestKey("runflow_org", str)
"""The organization the request acts in (``X-Organization-Id`` or the key's own)."""


def uuid7(seconds: float) -> str:
    """A UUIDv7 for emulator time ``seconds``, as Runflow gives runs."""
    millis = int(seconds * 1000) & ((1 << 48) - 1)
    rand = secrets.randbits(74)
    value = (millis << 80) | (0x7 << 76) | ((rand >> 62) << 64) | (0b10 << 62)
    return str(uuid.UUID(int=value | (rand & ((1 << 62) - 1))))


@attrs.define
class EmuTarget:
    """A seeded model or ComfyUI workflow."""

    kind: Literal["models", "comfyui-workflows"]
    owner: str
    slug: str
    id: str
    template_backed: bool
    nodes: int
    price: str
    required: tuple[str, ...] = ()

    def __str__(self) -> str:
        return f"{self.kind}/{self.owner}/{self.slug}"

    @property
    def target_type(self) -> str:
        """The run's ``target_type`` for this target."""
        return "model" if self.kind == "models" else "comfyui_workflow"

    def resource(self, org_id: str) -> dict[str, Any]:
        """The nested ``model`` (or ``comfyui_workflow``) object of a run."""
        return {
            "id": self.id,
            "org_id": org_id,
            "owner": self.owner,
            "slug": self.slug,
            "name": self.slug.rsplit("/", 1)[-1].replace("-", " ").title(),
            "version": "1",
            "status_code": "active",
            "is_public": True,
        }


@attrs.define
class State:
    """Where a run stands: native status, milestones and nodes done."""

    status: str
    dispatched_at: float | None = None
    started_at: float | None = None
    completed_at: float | None = None
    nodes_completed: int = 0
    from_plan: bool = True


@attrs.define
class EmuRun:
    """A run held by the emulator."""

    id: str
    seq: int
    org_id: str
    target: EmuTarget
    input: dict[str, Any]
    metadata: dict[str, Any]
    callback_url: str | None
    client_ref: str | None
    timeline: Timeline
    batch_id: str | None = None
    request_id: str = attrs.field(factory=lambda: f"req_{secrets.token_hex(8)}")
    pin: State | None = None
    """The state a PATCH or a cancellation fixed; the clock no longer moves the run."""
    patched: dict[str, Any] = attrs.field(factory=dict)
    """Fields set by PATCH, shown instead of the computed ones."""


@attrs.define
class Batch:
    """A batch and the runs it created, in ``sequence_index`` order."""

    id: str
    seq: int
    org_id: str
    target: EmuTarget
    created: float
    callback_url: str | None
    runs: list[EmuRun]
    item_ids: list[str]


@attrs.frozen
class Received:
    """A request as the emulator received it, for tests to inspect."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any


class Invalid(ValueError):
    """A request value the emulator refuses with 422; ``loc`` says where it was."""

    def __init__(self, message: str, loc: Sequence[str | int]) -> None:
        super().__init__(message)
        self.loc = list(loc)


_TERM = re.compile(
    r"(?P<neg>NOT\s+)?(?P<field>[a-z_]+)\s*(?P<op>:|=)\s*(?P<value>\"[^\"]*\"|[^\s\"()]+)"
)

Query = list[list[tuple[bool, str, str]]]


def parse_q(text: str) -> Query:
    """``q`` as OR of ANDs of ``[NOT] field:value`` terms; no parentheses."""
    if not text.strip():
        return []
    if "(" in text or ")" in text:
        raise Invalid("parentheses are not supported in q", ["query", "q"])
    query: Query = []
    for part in re.split(r"\s+OR\s+", text.strip()):
        terms = []
        for term in re.split(r"\s+AND\s+", part.strip()):
            match = _TERM.fullmatch(term.strip())
            if match is None:
                raise Invalid(f"cannot parse the q term {term!r}", ["query", "q"])
            if match["field"] not in QUERY_FIELDS:
                raise Invalid(f"cannot filter on {match['field']!r}", ["query", "q"])
            terms.append((bool(match["neg"]), match["field"], match["value"].strip('"')))
        query.append(terms)
    return query


def q_matches(query: Query, row: Mapping[str, Any]) -> bool:
    """Whether a rendered record passes ``query``."""
    if not query:
        return True
    return any(all((str(row.get(f)) == v) != neg for neg, f, v in terms) for terms in query)


def encode_pq(sort: str, rank: int) -> str:
    """An opaque cursor: the rank of a boundary item under ``sort``."""
    raw = orjson.dumps({"s": sort, "r": rank})
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_pq(sort: str, pq: str) -> int:
    """The rank in a cursor from ``encode_pq``; ``Invalid`` otherwise."""
    try:
        data = orjson.loads(base64.urlsafe_b64decode(pq + "=" * (-len(pq) % 4)))
        rank = data["r"]
        ok = data["s"] == sort and isinstance(rank, int)
    except (ValueError, TypeError, KeyError, binascii.Error):
        ok = False
    if not ok:
        raise Invalid("pq is not a cursor of this listing", ["query", "pq"])
    return int(rank)


@attrs.frozen
class PageOf:
    """One page of ranked rows and the cursors around it."""

    rows: list[Any]
    next: str | None
    previous: str | None


def page_of(
    rows: Sequence[T],
    rank: Callable[[T], int],
    *,
    sort: str,
    limit: int,
    pq: str | None,
    back: bool,
) -> PageOf:
    """Keyset pagination over ``rows`` sorted by ascending ``rank``."""
    ranks = [rank(r) for r in rows]
    boundary = decode_pq(sort, pq) if pq is not None else None
    if boundary is None:
        start, end = 0, min(limit, len(rows))
    elif back:
        end = sum(1 for r in ranks if r < boundary)
        start = max(0, end - limit)
    else:
        start = sum(1 for r in ranks if r <= boundary)
        end = min(len(rows), start + limit)
    page = list(rows[start:end])
    after = encode_pq(sort, ranks[end - 1]) if page and end < len(rows) else None
    before = encode_pq(sort, ranks[start]) if page and start > 0 else None
    return PageOf(page, after, before)


# -- nested records of a run --------------------------------------------------------


def node_runs(run: EmuRun, status: str, shown: Mapping[str, Any]) -> list[Any]:
    total, done = shown["nodes_total"] or 0, shown["nodes_completed"] or 0
    base = uuid.UUID(run.id)
    rows: list[dict[str, Any]] = []
    for i in range(total):
        if i < done:
            state = "succeeded"
        elif i == done and status in ("running", *FAILED):
            state = "running" if status == "running" else "failed"
        else:
            state = "canceled" if status in ("canceled", "cancelled") else "queued"
        rows.append(
            {
                "id": str(uuid.uuid5(base, f"node-run-{i}")),
                "run_id": run.id,
                "node_id": str(uuid.uuid5(uuid.UUID(run.target.id), f"node-{i}")),
                "flow_id": None,
                "state_code": state,
                "input": {},
                "output": {} if state == "succeeded" else None,
                "duration_ms": None,
                "cost": None,
                "retry_count": 0,
                "error_message": "node failed" if state == "failed" else None,
                "created_at": iso(run.timeline.created, z=False),
            }
        )
    return rows


def logs(run: EmuRun, state: State, failure: str | None) -> list[Any]:
    events = [
        (run.timeline.created, "info", "Run queued"),
        (state.dispatched_at, "info", "Dispatching to the execution provider"),
        (state.started_at, "info", "Run started"),
    ]
    if state.completed_at is not None:
        level = "error" if state.status in FAILED else "info"
        events.append((state.completed_at, level, failure or f"Run {state.status}"))
    base = uuid.UUID(run.id)
    return [
        {
            "id": str(uuid.uuid5(base, f"log-{n}")),
            "run_id": run.id,
            "level_code": level,
            "message": message,
            "timestamp": iso(at, z=False),
            "meta": {},
            "run": None,
        }
        for n, (at, level, message) in enumerate(events)
        if at is not None
    ]


# -- request validation ------------------------------------------------------------------

_DECIMAL = re.compile(r"^(?!^[-+.]*$)[+-]?0*\d*\.?\d*$")
_INTS = ("duration_ms", "nodes_total", "nodes_completed")
_TIMES = ("started_at", "completed_at", "updated_at")


def as_object(body: Any, loc: Sequence[str | int]) -> dict[str, Any]:
    """``body`` when it is a JSON object (``{}`` when absent), else ``Invalid``."""
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise Invalid("must be an object", loc)
    return body


def optional_text(
    body: Mapping[str, Any],
    key: str,
    loc: Sequence[str | int],
    *,
    min_len: int = 0,
    max_len: int = 2048,
) -> str | None:
    """A nullable string field of ``min_len`` to ``max_len`` characters."""
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not min_len <= len(value) <= max_len:
        raise Invalid(f"must be a string of {min_len} to {max_len} characters", [*loc, key])
    return value


def check_input(value: Any, required: Sequence[str], loc: Sequence[str | int]) -> dict[str, Any]:
    """A run ``input``: an object holding every required field."""
    data = as_object(value, [*loc, "input"])
    for name in required:
        if name not in data:
            raise Invalid("Field required", [*loc, "input", name])
    return data


def _timestamp(value: Any, key: str) -> str | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        parsed = None
    if parsed is None:
        raise Invalid("must be an ISO-8601 date-time", ["body", key])
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).isoformat()


def _cost(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return format(Decimal(str(value)), "f")
    if isinstance(value, str) and _DECIMAL.match(value):
        return value
    raise Invalid("must be a decimal string or a number", ["body", "cost"])


def patch_fields(body: Any) -> dict[str, Any]:
    """The documented PATCH fields of ``body``, checked and normalized; others are ignored."""
    data = as_object(body, ["body"])
    out: dict[str, Any] = {}
    for key, value in data.items():
        if key == "status_code":
            if value is not None and not isinstance(value, str):
                raise Invalid("must be a string", ["body", key])
            out[key] = value
        elif key == "output":
            out[key] = None if value is None else as_object(value, ["body", key])
        elif key in _INTS:
            valid = isinstance(value, int) and not isinstance(value, bool) and value >= 0
            if value is not None and not valid:
                raise Invalid("must be a non-negative integer", ["body", key])
            out[key] = value
        elif key == "cost":
            out[key] = _cost(value)
        elif key in _TIMES:
            out[key] = _timestamp(value, key)
    out.pop("updated_at", None)  # accepted, but not a field of the run
    return out


@attrs.frozen
class Paging:
    """Pagination parameters of a list request."""

    limit: int
    pq: str | None
    back: bool
    sort: str


def paging(query: Mapping[str, str], *, sorts: Sequence[str], default_limit: int = 50) -> Paging:
    """``limit`` (1-500), ``pq``, ``from_prev`` and ``sort_by`` of a list request."""
    raw = query.get("limit")
    try:
        limit = default_limit if raw is None else int(raw)
    except ValueError:
        raise Invalid("limit must be an integer", ["query", "limit"]) from None
    if not 1 <= limit <= 500:
        raise Invalid("limit must be between 1 and 500", ["query", "limit"])
    back = query.get("from_prev", "false").lower()
    if back not in ("true", "false", "1", "0"):
        raise Invalid("from_prev must be a boolean", ["query", "from_prev"])
    sort = query.get("sort_by", sorts[0])
    if sort not in sorts:
        raise Invalid(f"sort_by must be one of {', '.join(sorts)}", ["query", "sort_by"])
    return Paging(limit, query.get("pq") or None, back in ("true", "1"), sort)
