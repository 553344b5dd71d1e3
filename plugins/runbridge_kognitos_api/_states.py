"""Run states: the one-key ``state`` object, read into a status and its details.

The spec's keys are ``pending``, ``executing``, ``stopping``, ``stopped``,
``awaiting_guidance``, ``completed`` and ``failed``; the plugin notes add ``archived``,
and the docs overview spells states ``running``, ``waiting`` and so on. All are read in
any case and with any separators; a state given as a plain string is read as its key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from runbridge import RunStatus
from runbridge.adapter import StatusMap

STATUSES = StatusMap(
    {
        "pending": RunStatus.PENDING,
        "queued": RunStatus.PENDING,
        "executing": RunStatus.RUNNING,
        "running": RunStatus.RUNNING,
        "stopping": RunStatus.RUNNING,
        "stopped": RunStatus.RUNNING,
        "paused": RunStatus.RUNNING,
        "awaiting_guidance": RunStatus.RUNNING,
        "waiting": RunStatus.RUNNING,
        "completed": RunStatus.SUCCEEDED,
        "succeeded": RunStatus.SUCCEEDED,
        "failed": RunStatus.FAILED,
        "archived": RunStatus.CANCELLED,
        "cancelled": RunStatus.CANCELLED,
        "canceled": RunStatus.CANCELLED,
    },
    holds={
        "stopped": "paused",
        "paused": "paused",
        "awaiting_guidance": "person",
        "waiting": "person",
    },
    loose=True,
)
"""State keys and their canonical meaning. ``stopping`` is still running (a pause on its
way); ``stopped`` is held as paused until ``:continue``, ``awaiting_guidance`` as
waiting for a person. ``archived`` (plugin notes; ASSUMPTION) reads as cancelled: the
API itself has no cancel."""

_DETAIL_KEYS = ("reason", "description", "exception")


class State(NamedTuple):
    """What a ``state`` object says: its key, the key's fields, when it was entered.

    A named tuple: one is read for every run of a page.
    """

    key: str | None
    fields: Mapping[str, Any]
    since: str | None

    @classmethod
    def read(cls, state: object) -> State:
        """Read a ``state`` object (or a bare string); anything else has no key."""
        if type(state) is not dict:  # JSON objects are dicts: no ABC check for them
            if isinstance(state, str):
                return cls(state, {}, None)
            if not isinstance(state, Mapping):
                return cls(None, {}, None)
        since = state.get("update_time")
        key = None
        keys = 0
        for name in state:
            if name != "update_time":
                key, keys = name, keys + 1
        if keys != 1:
            key = None
        body = state.get(key) if key is not None else None
        return cls(
            key,
            body if type(body) is dict or isinstance(body, Mapping) else {},
            since if isinstance(since, str) else None,
        )

    def text(self, *keys: str) -> str | None:
        """The first non-empty string among the state's ``keys`` fields."""
        for key in keys or _DETAIL_KEYS:
            value = self.fields.get(key)
            if isinstance(value, str) and value:
                return value
        return None
