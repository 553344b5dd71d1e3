"""Helpers that several test modules share; the fixtures are in ``conftest.py``.

A test module imports what it needs from here, never from another test module.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

from runbridge.emulation import Emulator, LoggedRequest
from runbridge.testing import RawClient, emulated_providers

PROVIDERS = tuple(emulated_providers(builtin=True))
"""The providers runbridge ships, each with its emulator, as the registry lists them."""

SETTLE = 3600.0
"""Seconds after which every planned run of an emulator has finished."""

SECRET = "hunter2-correct-horse"
"""A secret input that must never show in a log, an error or a run."""

LISTS_BY_TARGET = frozenset({"kognitos", "kognitos-api"})
"""Providers that list the runs of one target only (a Kognitos process, a Kognitos API
automation): a listing must name its target. The others list every run."""


def list_target(provider: str, target: str) -> str | None:
    """The ``target`` filter a listing on ``provider`` needs: ``target`` where the provider
    lists by target (``LISTS_BY_TARGET``), else ``None`` (every run)."""
    return target if provider in LISTS_BY_TARGET else None


def sent(emulator: Emulator, method: str, suffix: str = "") -> list[LoggedRequest]:
    """The requests ``emulator`` received with ``method`` and a path ending in ``suffix``
    (a whole path, such as ``/v1/runs``, or its end, such as ``/cancellation``)."""
    return [r for r in emulator.log if r.method == method and r.path.endswith(suffix)]


def tamper(cursor: str) -> str:
    """Alter the provider token inside a runbridge cursor (base64url JSON of [provider, token],
    a dot, then its signature), keeping the signature: a forgery without the key."""
    payload, _, mac = cursor.partition(".")
    provider, token = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    token = ("B" if token[0] == "A" else "A") + token[1:]
    forged = base64.urlsafe_b64encode(json.dumps([provider, token]).encode()).decode().rstrip("=")
    return f"{forged}.{mac}"


# -- the Cyberdesk emulator over raw HTTP -----------------------------------------------

CYBERDESK_RUN_FIELDS = {
    "workflow_id",
    "machine_id",
    "id",
    "user_id",
    "organization_id",
    "status",
    "is_priority",
    "error",
    "output_data",
    "input_attachment_ids",
    "output_attachment_ids",
    "run_message_history",
    "input_values",
    "main_prompt",
    "model_metadata",
    "pool_ids",
    "sensitive_input_aliases",
    "usage_metadata",
    "post_run_checks",
    "session_id",
    "session_alias",
    "release_session_after",
    "started_at",
    "ended_at",
    "created_at",
}
"""Every field of Cyberdesk's ``RunResponse`` in SDK 2.2.69."""


async def cyberdesk_create(api: RawClient, **body: Any) -> dict[str, Any]:
    """Create a run of the emulator's default workflow with ``body``; its JSON."""
    status, run = await api(
        "POST", "/v1/runs", json={"workflow_id": api.emulator.default_target, **body}
    )
    assert status == 201, run
    return dict(run)


def posts(emulator: Emulator) -> int:
    """How many POST requests ``emulator`` received."""
    return sum(1 for method, _ in emulator.requests if method == "POST")


async def until(condition: Callable[[], bool], within: float = 10.0) -> None:
    """Poll ``condition`` until it holds (a deadline, not a sleep for state)."""
    end = time.monotonic() + within
    while not condition():
        assert time.monotonic() < end, "condition not met in time"
        await asyncio.sleep(0.01)


async def until_async(condition: Callable[[], Awaitable[bool]], within: float = 10.0) -> None:
    """Poll an async ``condition`` until it holds (a deadline, not a sleep for state)."""
    end = time.monotonic() + within
    while not await condition():
        assert time.monotonic() < end, "condition not met in time"
        await asyncio.sleep(0.01)
