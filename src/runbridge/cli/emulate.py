"""``runbridge emulate``: serve a provider's emulator on loopback for local development."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import shlex
import signal
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import attrs

from runbridge.emulation import Emulator, RealClock
from runbridge.testing import load_emulator

from .connection import provider_info
from .exits import OK, UsageError
from .render import Output


def env_name(provider: str, key: str) -> str:
    """The environment variable a printed profile reads ``key`` from."""
    return f"{provider}_EMULATOR_{key}".upper().replace("-", "_")


def secret_settings(provider: str) -> frozenset[str]:
    """Settings of ``provider`` marked secret: a profile must read them from the environment."""
    settings_type = provider_info(provider).adapter.settings_type
    if not attrs.has(settings_type):
        return frozenset()
    return frozenset(a.name for a in attrs.fields(settings_type) if a.metadata.get("secret"))


def build_emulator(provider: str, *, speed: float, extras: Sequence[str] = ()) -> Emulator:
    """A new emulator of ``provider`` on a (sped up) real clock, documented shape unless
    ``extras`` names undocumented conveniences to turn on."""
    path = provider_info(provider).adapter.emulator  # an unknown provider: a ConfigError
    if not path:
        raise UsageError(f"provider {provider!r} ships no emulator")
    try:
        if extras:
            return load_emulator(provider, clock=RealClock(speed=speed), extras=extras)
        return load_emulator(provider, clock=RealClock(speed=speed))
    except ValueError as exc:  # an extra it does not have
        raise UsageError(str(exc)) from None
    except Exception as exc:  # the plugin's mistake, not the user's: one line all the same
        raise UsageError(
            f"provider {provider!r}: its emulator {path!r} cannot be loaded: "
            f"{type(exc).__name__}: {exc}"
        ) from None


def profile_settings(emulator: Emulator) -> tuple[dict[str, Any], dict[str, str]]:
    """The ``settings`` table of a profile for ``emulator``, and the variables it reads."""
    secret = secret_settings(emulator.provider)
    settings: dict[str, Any] = {}
    environ: dict[str, str] = {}
    for key, value in emulator.client_settings().items():
        if key in secret:
            settings[f"{key}_env"] = env_name(emulator.provider, key)
            environ[env_name(emulator.provider, key)] = str(value)
        else:
            settings[key] = value
    return settings, environ


def toml_snippet(
    name: str, emulator: Emulator, base_url: str, settings: Mapping[str, Any], token_env: str
) -> str:
    """A ``runbridge.toml`` profile for a served emulator."""

    def value(v: Any) -> str:
        return json.dumps(v)  # TOML basic strings, numbers and booleans read like JSON

    lines = [
        f"[profiles.{name}]",
        f"provider = {value(emulator.provider)}",
        f"token_env = {value(token_env)}",
        f"base_url = {value(base_url)}",
    ]
    if settings:
        lines += ["", f"[profiles.{name}.settings]"]
        lines += [f"{k} = {value(v)}" for k, v in settings.items()]
    lines += ["", f"[profiles.{name}.targets]", f"default = {value(emulator.default_target)}"]
    return "\n".join(lines)


@contextlib.contextmanager
def _stop_on_signals(stop: asyncio.Event) -> Iterator[None]:
    loop = asyncio.get_running_loop()
    handled = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):  # pragma: no cover - Windows
            continue  # Ctrl+C still arrives as KeyboardInterrupt
        handled.append(sig)
    try:
        yield
    finally:
        for sig in handled:
            loop.remove_signal_handler(sig)


async def emulate(args: argparse.Namespace, output: Output) -> int:
    """Serve until SIGINT or SIGTERM, after printing the base URL, the token and a profile."""
    emulator = build_emulator(args.emulated, speed=args.speed, extras=args.extra)
    settings, environ = profile_settings(emulator)
    token_env = env_name(emulator.provider, "token")
    environ = {token_env: emulator.token, **environ}
    name = f"{emulator.provider}-emulator"
    stop = asyncio.Event()
    with _stop_on_signals(stop):
        async with emulator.serve(host=args.host, port=args.port) as base_url:
            if output.json:
                output.line(
                    {
                        "provider": emulator.provider,
                        "base_url": base_url,
                        "token": emulator.token,
                        "settings": emulator.client_settings(),
                        "target": emulator.default_target,
                        "environment": environ,
                        "profile": toml_snippet(name, emulator, base_url, settings, token_env),
                    }
                )
            else:
                out = output.out
                out.print(f"{emulator.provider} emulator serving at {base_url}", markup=False)
                out.print(f"token: {emulator.token}", markup=False)
                out.print(f"target: {emulator.default_target}", markup=False)
                out.print("\n# runbridge.toml", markup=False)
                out.print(toml_snippet(name, emulator, base_url, settings, token_env), markup=False)
                out.print("\n# in your shell", markup=False)
                for key, val in environ.items():
                    out.print(f"export {key}={shlex.quote(val)}", markup=False)
                out.file.flush()
            output.note(
                f"Ready: runbridge --profile {name} list --target default. Stop with Ctrl+C.",
                style="dim",
            )
            await stop.wait()
    output.note(f"{emulator.provider} emulator stopped", style="dim")
    return OK
