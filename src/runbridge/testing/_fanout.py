"""``emulated_fanout``: an emulator per provider, served on loopback, and one fan-out over them."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping
from typing import Any

import attrs

from .._client._config import Profile
from .._client._connect import connect
from .._client._fanout import Fanout, fanout
from .._plugins._registry import Registry, default_registry
from .._wire._client_options import ClientOptions
from ..emulation import Emulator
from ._emulated import emulated_providers, load_emulator, testing_options


def _variable(provider: str, key: str) -> str:
    return f"{provider}_EMULATOR_{key}".upper().replace("-", "_")


def emulator_profile(
    emulator: Emulator, base_url: str, *, target: str, registry: Registry | None = None
) -> tuple[Profile, dict[str, str]]:
    """A profile named after ``emulator``'s provider that reaches it at ``base_url``, with
    ``target`` as the alias of its default target, and the environment its credentials
    are read from (a profile holds no secret, so the token and every secret setting go
    there)."""
    provider = emulator.provider
    settings_type = (registry or default_registry).adapter(provider).settings_type
    secret = (
        {a.name for a in attrs.fields(settings_type) if a.metadata.get("secret")}
        if attrs.has(settings_type)
        else set()
    )
    environ = {_variable(provider, "token"): emulator.token}
    settings: dict[str, Any] = {}
    for key, value in emulator.client_settings().items():
        if key in secret:
            settings[f"{key}_env"] = _variable(provider, key)
            environ[_variable(provider, key)] = str(value)
        else:
            settings[key] = value
    profile = Profile(
        name=provider,
        provider=provider,
        token_env=_variable(provider, "token"),
        base_url=base_url,
        settings=settings,
        targets={target: emulator.default_target},
    )
    return profile, environ


@contextlib.asynccontextmanager
async def emulated_fanout(
    *providers: str,
    emulators: Mapping[str, Emulator] | None = None,
    target: str = "default",
    registry: Registry | None = None,
    options: ClientOptions | None = None,
    concurrency: int = 8,
) -> AsyncIterator[tuple[Fanout, dict[str, Emulator]]]:
    """Serve an emulator of each provider on 127.0.0.1 and yield ``(fan, emulators)``: a
    fan-out over clients of them, and the emulators by provider.

    Each member is a profile named after its provider in which the logical target
    ``target`` stands for the emulator's ``default_target``, so ``fan.create(target)``
    starts the same logical run everywhere. ``providers`` defaults to the keys of
    ``emulators``, else every installed provider that ships an emulator; a provider
    ``emulators`` does not give one for gets ``load_emulator(provider)`` (a
    ``ManualClock``). Clients use ``options`` (default ``testing_options()``).
    """
    given = dict(emulators or {})
    names = list(providers or given or emulated_providers(registry=registry))
    if stray := sorted(set(given) - set(names)):
        raise ValueError(f"emulators given for providers not in the fan-out: {stray}")
    built = {p: given.get(p) or load_emulator(p, registry=registry) for p in names}
    async with contextlib.AsyncExitStack() as stack:
        clients = []
        for emulator in built.values():
            base_url = await stack.enter_async_context(emulator.serve())
            profile, environ = emulator_profile(
                emulator, base_url, target=target, registry=registry
            )
            client = connect(
                profile=profile,
                environ=environ,
                registry=registry,
                options=options or testing_options(),
            )
            clients.append(await stack.enter_async_context(client))
        fan = await stack.enter_async_context(fanout(clients, concurrency=concurrency))
        yield fan, built
