"""Request validation as the documented schemas state it: each violation is an ``ErrorDetail``.

``ErrorDetail`` has no documented properties; ``{"field", "message"}`` is the
ASSUMPTION of the provider facts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._facts import ID, LIMIT_DEFAULT, LIMIT_MAX, NAME_MAX, STAGES

Detail = dict[str, Any]


class Invalid(Exception):
    """A request that breaks the documented constraints: answered 400 with ``details``."""

    def __init__(self, details: list[Detail]) -> None:
        super().__init__("invalid input values")
        self.details = details


def detail(field: str | None, message: str) -> Detail:
    """One ``ErrorDetail``."""
    return {"field": field, "message": message}


def check_create(body: object) -> None:
    """Raise ``Invalid`` listing every way ``body`` breaks the ``POST /v2/runs`` schema."""
    if not isinstance(body, Mapping):
        raise Invalid([detail(None, "body must be an object")])
    details = []
    for key in ("agent_id", "process_id"):
        value = body.get(key)
        if not isinstance(value, str) or not ID.fullmatch(value):
            details.append(detail(key, "must be 1-26 of [a-zA-Z0-9-_]"))
    name = body.get("name")
    if not isinstance(name, str) or not 1 <= len(name) <= NAME_MAX:
        details.append(detail("name", f"must be a string of 1-{NAME_MAX} characters"))
    if body.get("stage") not in STAGES:
        details.append(detail("stage", f"must be one of {', '.join(STAGES)}"))
    inputs = body.get("inputs")
    # The reference documents a list of {name, value}; the migration guide's object
    # form is the inconsistency the facts allow an emulator to refuse.
    if inputs is not None and not (
        isinstance(inputs, list)
        and all(
            isinstance(i, dict) and isinstance(i.get("name"), str) and "value" in i for i in inputs
        )
    ):
        details.append(detail("inputs", "must be a list of {name, value}"))
    file_ids = body.get("file_ids")
    if file_ids is not None and not (
        isinstance(file_ids, list) and all(isinstance(f, str) and f for f in file_ids)
    ):
        details.append(detail("file_ids", "must be a list of file ids"))
    if details:
        raise Invalid(details)


def check_list_query(query: Mapping[str, str]) -> tuple[str, str, str | None, int]:
    """``(agent_id, process_id, stage, limit)`` of a ``GET /v2/runs`` query, or ``Invalid``."""
    required = ("agent_id", "process_id")
    if missing := [detail(key, "field required") for key in required if not query.get(key)]:
        raise Invalid(missing)
    stage = query.get("stage") or None
    if stage is not None and stage not in STAGES:
        raise Invalid([detail("stage", f"must be one of {', '.join(STAGES)}")])
    return query["agent_id"], query["process_id"], stage, _limit(query.get("limit"))


def _limit(raw: str | None) -> int:
    if raw is None or raw in ("", "null"):
        return LIMIT_DEFAULT
    try:
        limit = int(raw)
    except ValueError:
        raise Invalid([detail("limit", "must be an integer")]) from None
    # Only the maximum is documented; a page of no items is refused too (ASSUMPTION).
    if not 1 <= limit <= LIMIT_MAX:
        raise Invalid([detail("limit", f"must be from 1 to {LIMIT_MAX}")])
    return limit
