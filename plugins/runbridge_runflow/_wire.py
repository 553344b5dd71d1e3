"""Runflow's wire format: the few fields the adapter reads, and one converter for them.

Every field is optional because the API declares every field nullable; fields
not listed here (``flow``, ``model``, ``node_runs``, ``logs`` and any new ones)
are never structured, so they cannot break a read. They stay in ``Run.raw``.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import attrs

from runbridge.adapter import make_converter, parse_decimal


@attrs.frozen
class WireRun:
    """A run record (``GET /v1/runs/{id}`` and every endpoint returning runs)."""

    id: str
    status_code: str | None = None
    target_type: str | None = None
    input: dict[str, Any] | None = None
    output: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None
    callback_url: str | None = None
    client_ref: str | None = None
    batch_id: str | None = None
    cost: Decimal | None = None
    duration_ms: int | None = None
    nodes_total: int | None = None
    nodes_completed: int | None = None
    created_at: datetime | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    failure_code: str | None = None
    failure_message: str | None = None
    failure_stage_code: str | None = None


@attrs.frozen
class WirePage:
    """A page of a paginated list: ``{items, first, next, previous}``.

    The prose docs name the cursors ``next_pq``/``prev_pq``; both spellings are read.
    """

    items: list[dict[str, Any]]
    next: str | None = None
    next_pq: str | None = None


@attrs.frozen
class WireBatch:
    """The answer to ``POST /v1/models/{owner}/{slug}/batches``."""

    id: str
    status_code: str | None = None
    items_total: int | None = None


@attrs.frozen
class WireBatchItem:
    """One row of ``GET /v1/batches/{id}/items``; ``run`` is read separately."""

    id: str | None = None
    sequence_index: int | None = None
    run_id: str | None = None


def _lenient_cost(value: object, _: object) -> Decimal | None:
    # The reference docs fill ``cost`` with placeholders such as "<string>"; a
    # cost that is not a number is unknown, not a reason to drop the whole run.
    if isinstance(value, str):
        try:
            return parse_decimal(value.strip())
        except ValueError:
            return None
    return parse_decimal(value)


converter = make_converter()
converter.register_structure_hook(Decimal | None, _lenient_cost)
