"""Kognitos REST API v2 wire format: attrs classes and the one converter that reads them."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs

from runbridge.adapter import make_converter


class Values(dict[str, Any]):
    """A provider ``[{"name": ..., "value": ...}]`` list, read as a mapping by name."""


def _strict_str(value: object, _: object) -> str:
    # cattrs would turn null or 42 into "None" or "42"; a wrong type is a bad payload.
    if not isinstance(value, str):
        raise ValueError(f"expected a string, got {type(value).__name__}")
    return value


def _structure_values(value: object, _: object) -> Values | None:
    if value is None:
        return None
    # The migration guide once showed an object instead of the list; read both.
    if isinstance(value, Mapping):
        return Values(value)
    if not isinstance(value, list):
        raise ValueError(f"expected a list of name/value objects, got {type(value).__name__}")
    out = Values()
    for index, item in enumerate(value):
        if not isinstance(item, Mapping) or not isinstance(item.get("name"), str):
            raise ValueError(f"item {index} is not a {{'name': str, 'value': ...}} object")
        out[item["name"]] = item.get("value")
    return out


def named_values(values: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A mapping as the provider's ``[{"name", "value"}]`` list, in mapping order."""
    return [{"name": name, "value": value} for name, value in values.items()]


def _nonempty(_: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not value:
        raise ValueError(f"{attribute.name} must not be empty")


@attrs.frozen
class WireRun:
    """A run object as ``GET /v2/runs/{run_id}``, ``POST /v2/runs`` and lists return it.

    ``inputs``, ``started_at``, ``finished_at`` and ``error`` are not in the
    documented schema; they are read when present and otherwise stay empty.
    """

    id: str = attrs.field(validator=_nonempty)
    agent_id: str
    process_id: str
    name: str
    created_at: datetime
    stage: str
    status: str
    file_ids: list[str] | None = None
    outputs: Values | None = None
    inputs: Values | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    error: Any = None


@attrs.frozen
class WireList:
    """The ``ListResponse`` envelope; both keys are required, ``null`` token ends a listing."""

    items: list[Any] | None
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


converter = make_converter()
converter.register_structure_hook(str, _strict_str)
converter.register_structure_hook(Values, _structure_values)
converter.register_structure_hook(Values | None, _structure_values)


def create_body(wire: WireCreate) -> dict[str, Any]:
    """The JSON body for a create, leaving out ``file_ids`` when there are none."""
    body: dict[str, Any] = converter.unstructure(wire)
    if body["file_ids"] is None:
        del body["file_ids"]
    return body
