"""Runflow's wire format: the fields the adapter reads, as msgspec structs.

Responses are decoded from bytes straight into these structs; every other key
(``node_runs``, ``logs``, ``flow`` and any new one) is skipped, and stays untouched
in ``Run.raw``, which is decoded only when read. Every field is optional because
the API declares every field nullable.

The adapter has always read some fields leniently (cattrs coerced them): a text
field of another JSON type reads as its ``str()``, a count as ``int()`` of a number
or numeric string, a cost that is no number as unknown. Those fields take any
value of those kinds here, and ``text_of``/``count_of``/``cost_of`` normalise them.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

import msgspec

from runbridge.adapter import Call, Response, parse_decimal

T = TypeVar("T")

Count = int | float | str | bool | None
"""A count as sent: read by ``count_of``; an array or object is refused."""


class WireResource(msgspec.Struct, gc=False):
    """A nested ``model`` or ``comfyui_workflow`` object: what may name its path.

    Runflow documents no owner field; ``owner`` is a string or ``{slug, handle}``.
    """

    owner: Any = None
    owner_slug: Any = None
    slug: Any = None


Resource = WireResource | list[Any] | str | int | float | bool | None
"""A nested resource, or any other JSON value (read as no resource)."""


class WireMetadata(msgspec.Struct, gc=False):
    """The run's ``metadata`` object, as far as it is read: the run name (``NAME_KEY``)."""

    name: Any = None


class WireRun(msgspec.Struct, gc=False):
    """A run record (``GET /v1/runs/{id}`` and every endpoint returning runs)."""

    id: str
    status_code: Any = None
    target_type: Any = None
    model_id: Any = None
    comfyui_workflow_id: Any = None
    flow_id: Any = None
    model: Resource = None
    comfyui_workflow: Resource = None
    input: dict[str, Any] | None = None
    output: dict[str, Any] | None = None
    metadata: WireMetadata | None = None
    cost: str | int | float | None = None
    duration_ms: Count = None
    nodes_total: Count = None
    nodes_completed: Count = None
    created_at: datetime | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    failure_code: Any = None
    failure_message: Any = None
    failure_stage_code: Any = None
    error: Any = None
    """Not documented for runs, but the SDK's type declares ``error: {code, message}``."""


class WirePage(msgspec.Struct, gc=False):
    """A page of runs: ``{items, first, next, previous}``.

    The prose docs name the cursors ``next_pq``/``prev_pq``; both spellings are read.
    """

    items: list[WireRun]
    next: Any = None
    next_pq: Any = None


class WireBatch(msgspec.Struct, gc=False):
    """The answer to ``POST /v1/models/{owner}/{slug}/batches``, as far as it is read."""

    id: str


class WireBatchItem(msgspec.Struct, gc=False):
    """One row of ``GET /v1/batches/{id}/items``.

    ``run`` stays plain JSON: each embedded run is read on its own, so one that
    cannot be read fails its own request, not the whole batch.
    """

    sequence_index: Count = None
    run_id: Any = None
    run: Any = None


class WireItems(msgspec.Struct, gc=False):
    """A page of batch items: ``{items, first, next, previous}``."""

    items: list[WireBatchItem]
    next: Any = None
    next_pq: Any = None


def text_of(value: object) -> str | None:
    """A text field as text: ``None`` stays ``None``, any other value is its ``str()``."""
    return None if value is None else str(value)


def count_of(value: Count) -> int | None:
    """A count as an ``int``; ``ValueError`` for a string that is not a number."""
    return None if value is None else int(value)


def cost_of(value: str | int | float | None) -> Decimal | None:
    """A cost as a ``Decimal``; a string that is not a number means unknown."""
    # The reference docs fill ``cost`` with placeholders such as "<string>"; a cost
    # that is not a number is unknown, not a reason to drop the whole run.
    if isinstance(value, str):
        try:
            cost = Decimal(value)  # surrounding whitespace is allowed, as before
        except InvalidOperation:
            return None
        return cost if cost.is_finite() else None
    return parse_decimal(value)


def link_of(page: WirePage | WireItems) -> str | None:
    """The ``next`` cursor of a page, under either spelling."""
    return text_of(page.next if page.next is not None else page.next_pq)


def decoded(call: Call, response: Response, cls: type[T]) -> T:
    """The body of ``response`` (requested ``into=cls``); an empty body is a ``ResponseError``."""
    data = response.data
    if type(data) is not cls:
        # The core decodes only a non-empty body into ``cls``.
        raise call.bad_response(f"expected a {cls.__name__} object, got an empty body")
    return data
