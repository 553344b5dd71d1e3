"""Emulators for tests: find them, build them, serve one and connect an async client."""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import AsyncIterator
from typing import Any

from .._client._connect import connect
from .._client._run_client import RunClient
from .._plugins._registry import Registry, default_registry
from .._wire._client_options import ClientOptions
from .._wire._retry import RetryPolicy
from ..emulation import Emulator


def emulated_providers(*, registry: Registry | None = None, builtin: bool = False) -> list[str]:
    """Every available provider whose adapter ships an emulator, sorted; with ``builtin``,
    only those runbridge itself ships. For running one test against each of them."""
    return [
        info.name
        for info in (registry or default_registry).providers()
        if info.adapter.emulator and (info.builtin or not builtin)
    ]


def load_emulator(provider: str, *, registry: Registry | None = None, **kwargs: Any) -> Emulator:
    """A new emulator for ``provider``, from the import path its adapter declares."""
    adapter = (registry or default_registry).adapter(provider)
    if not adapter.emulator:
        raise LookupError(f"the {provider} adapter does not declare an emulator")
    module_name, _, attr = adapter.emulator.partition(":")
    factory = getattr(importlib.import_module(module_name), attr)
    emulator = factory(**kwargs)
    if not isinstance(emulator, Emulator):
        raise TypeError(f"{adapter.emulator} did not build an Emulator")
    return emulator


def testing_options(**overrides: Any) -> ClientOptions:
    """Client options for tests: retries as in production but without sleeping, and a
    settle window of one second (an emulator finishes every request within it, unless a
    test slows one down for longer: then give a longer ``settle_window``)."""
    fields: dict[str, Any] = {
        "retry": RetryPolicy.testing(),
        "deadline": 30.0,
        "timeout": 10.0,
        "settle_window": 1.0,
    }
    fields.update(overrides)
    return ClientOptions(**fields)


testing_options.__test__ = False  # type: ignore[attr-defined]  # not a test, despite the name


def connect_arguments(
    emulator: Emulator,
    base_url: str,
    *,
    registry: Registry | None = None,
    options: ClientOptions | None = None,
    **settings: Any,
) -> dict[str, Any]:
    """What ``connect`` (or ``connect_sync``) takes, after the provider, to talk to
    ``emulator`` served at ``base_url``: its token and settings, testing options."""
    return {
        "token": emulator.token,
        "base_url": base_url,
        "options": options or testing_options(),
        "registry": registry,
        **emulator.client_settings(),
        **settings,
    }


@contextlib.asynccontextmanager
async def emulated_client(
    provider: str,
    *,
    emulator: Emulator | None = None,
    registry: Registry | None = None,
    options: ClientOptions | None = None,
    **settings: Any,
) -> AsyncIterator[tuple[RunClient, Emulator]]:
    """Serve an emulator on 127.0.0.1 and yield ``(client, emulator)`` connected to it."""
    emulator = emulator or load_emulator(provider, registry=registry)
    async with emulator.serve() as base_url:
        arguments = connect_arguments(
            emulator, base_url, registry=registry, options=options, **settings
        )
        async with connect(provider, **arguments) as client:
            yield client, emulator
