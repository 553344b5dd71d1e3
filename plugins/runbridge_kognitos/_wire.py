"""Kognitos REST API v2 wire format: what the adapter reads, as msgspec structs, and the
create body it sends.

Only the fields the adapter uses are declared, and responses are decoded from bytes
straight into them; every other key of a payload is skipped, and kept untouched in
``Run.raw`` (decoded only when read).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs
import msgspec


class NamedValue(msgspec.Struct, gc=False):
    """One ``{"name": ..., "value": ...}`` item of a run's ``inputs`` or ``outputs``."""

    name: str
    value: Any = None


Values = list[NamedValue] | dict[str, Any] | None
"""A run's ``inputs`` or ``outputs``: the documented name/value list, or the object the
migration guide once showed instead (both are read)."""


def by_name(values: list[NamedValue] | dict[str, Any]) -> dict[str, Any]:
    """``Values`` as a mapping by name (a later item of a repeated name wins)."""
    if isinstance(values, dict):
        return values
    return {item.name: item.value for item in values}


def named_values(values: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A mapping as the provider's ``[{"name", "value"}]`` list, in mapping order."""
    return [{"name": name, "value": value} for name, value in values.items()]


class WireRun(msgspec.Struct, gc=False):
    """A run object as ``GET /v2/runs/{run_id}``, ``POST /v2/runs`` and lists return it.

    ``inputs``, ``started_at``, ``finished_at`` and ``error`` are not in the
    documented schema; they are read when present and otherwise stay empty.
    """

    id: str
    agent_id: str
    process_id: str
    name: str
    created_at: datetime
    stage: str
    status: str
    file_ids: list[str] | None = None
    """Not translated, but declared so that a run object with other ``file_ids`` is
    refused as malformed, as the schema says it is."""
    outputs: Values = None
    inputs: Values = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    error: Any = None


class WireList(msgspec.Struct, gc=False):
    """The ``ListResponse`` envelope; both keys are required, ``null`` token ends a listing."""

    items: list[WireRun] | None
    continuation_token: str | None


@attrs.frozen
class WireCreate:
    """The body of ``POST /v2/runs``."""

    agent_id: str
    process_id: str
    name: str
    stage: str
    inputs: list[dict[str, Any]]
    file_ids: list[str] | None = None


def create_body(wire: WireCreate) -> dict[str, Any]:
    """The JSON body for a create, leaving out ``file_ids`` when there are none."""
    # Every field is plain JSON already: no converter needed (nor imported) to send it.
    body = attrs.asdict(wire, recurse=False)
    if body["file_ids"] is None:
        del body["file_ids"]
    return body
