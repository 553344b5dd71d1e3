"""``runbridge emulate``: serve a provider's emulator on loopback for local development.

It prints what a client needs (base URL, token, a profile), and, with ``--events-to``,
where run events go and the secret that signs them; ``--plan`` and ``--plan-file`` say
how the runs created on it end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import shlex
import signal
from collections.abc import Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

import attrs

from runbridge.emulation import Emulator, Plan, RealClock
from runbridge.testing import load_emulator

from .arguments import plans_from_file
from .connection import provider_info
from .exits import OK, UsageError
from .parser import LISTEN_PORT
from .render import Output

SECRETS_SETTING = "webhook_secrets"
"""The profile setting (read from ``webhook_secrets_env``) that verifies run events."""


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


def profile_settings(
    emulator: Emulator, webhook_secret: str | None = None
) -> tuple[dict[str, Any], dict[str, str]]:
    """The ``settings`` table of a profile for ``emulator``, and the variables it reads
    (the run events' secret among them, when there is one)."""
    secret = secret_settings(emulator.provider) | {SECRETS_SETTING}
    values = dict(emulator.client_settings())
    if webhook_secret is not None:
        values[SECRETS_SETTING] = webhook_secret
    settings: dict[str, Any] = {}
    environ: dict[str, str] = {}
    for key, value in values.items():
        if key in secret:
            settings[f"{key}_env"] = env_name(emulator.provider, key)
            environ[env_name(emulator.provider, key)] = str(value)
        else:
            settings[key] = value
    return settings, environ


# -- run events -------------------------------------------------------------------------


def route_events(emulator: Emulator, url: str) -> str:
    """Have ``emulator`` deliver every run's events to ``url``; the secret that signs them.

    Where each run names its receiver when it is created (Runflow's ``callback_url``),
    the emulator's ``default_callback_url`` takes the runs created without one.
    """
    provider = emulator.provider
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"--events-to expects an http(s) URL, got {url!r}")
    if not provider_info(provider).capabilities.events:
        raise UsageError(
            f"--events-to: {provider} pushes no run events (see 'runbridge providers --json')"
        )
    try:
        route = emulator.send_events_to(url)
    except NotImplementedError as exc:
        raise UsageError(f"--events-to: {exc}") from None
    if route.options:
        if set(route.options) != {"callback_url"} or not hasattr(emulator, "default_callback_url"):
            needed = " ".join(f"--option {k}={v}" for k, v in route.options.items())
            raise UsageError(
                f"--events-to: the {provider} emulator sends run events only for runs "
                f"created with {needed}: create them with it instead"
            )
        emulator.default_callback_url = url
    return route.secret


def listen_command(name: str, provider: str, url: str) -> str | None:
    """The ``runbridge listen`` that receives at ``url``, when one on this machine can."""
    parts = urlsplit(url)
    if parts.hostname not in ("127.0.0.1", "localhost", "::1") or parts.path != f"/{provider}":
        return None
    port = f" --port {parts.port}" if parts.port and parts.port != LISTEN_PORT else ""
    return f"runbridge --profile {name} listen{port}"


# -- plans ------------------------------------------------------------------------------


def hold_status(emulator: Emulator) -> str:
    """The native status ``held`` ends in: one where a run waits for a person, else one
    where it is paused; ``UsageError`` for an emulator that has none."""
    holds = emulator.statuses.holds
    chosen = [n for n, kind in holds.items() if kind == "person"] or list(holds)
    if not chosen:
        raise UsageError(
            f"the {emulator.provider} emulator has no status in which a run is held "
            "(waits for a person or is paused): it cannot plan 'held'"
        )
    return chosen[0]


def plan_of(emulator: Emulator, fields: Mapping[str, Any], where: str) -> Plan:
    """A ``Plan`` from the fields ``--plan`` or a plan file gave."""
    fields = dict(fields)
    outcome = fields.get("outcome")
    if outcome == "held":
        if "native" in fields or "message" in fields:
            raise UsageError(f"{where}: held takes no native status and no message")
        fields["outcome"] = "succeeded"  # not reached: the run ends in the hold status
        fields["native"] = hold_status(emulator)
    try:
        return Plan(**fields)
    except (TypeError, ValueError) as exc:
        raise UsageError(f"{where}: {exc}") from None


def plans_from(args: argparse.Namespace, emulator: Emulator) -> list[Plan]:
    """The plans ``--plan`` or ``--plan-file`` give, in order; none: the emulator's default."""
    if args.plan_file is not None:
        return [
            plan_of(emulator, fields, f"--plan-file: plans[{n}]")
            for n, fields in enumerate(plans_from_file(args.plan_file))
        ]
    return [plan_of(emulator, fields, "--plan") for fields in args.plan]


def apply_plans(emulator: Emulator, plans: Sequence[Plan]) -> None:
    """Each run created takes the next plan; the last one applies to every run after."""
    if not plans:
        return
    *first, last = plans
    for plan in first:
        emulator.plan_next(plan)
    emulator.plan_every(last)


def describe_plan(plan: Plan, hold: str | None) -> str:
    """``failed ('the text')``, ``held (awaiting_guidance)``, ``succeeded``..."""
    if plan.native is not None:
        return f"held ({plan.native})" if plan.native == hold else f"ends {plan.native}"
    if plan.message is not None:
        return f"{plan.outcome.value} ({plan.message!r})"
    return plan.outcome.value


def plans_note(emulator: Emulator, plans: Sequence[Plan]) -> str:
    """What the runs created will do, in a sentence."""
    hold = hold_status(emulator) if emulator.statuses.holds else None
    texts = [describe_plan(plan, hold) for plan in plans]
    if len(texts) == 1:
        return f"Every run created ends {texts[0]}."
    return f"Runs created end, in order: {', '.join(texts)}; every later one as the last."


def speed_note(speed: float) -> str:
    """Why the times of a sped-up (or slowed) emulator's runs leave the wall clock."""
    drift = f"ahead of it by {speed - 1:g}" if speed > 1 else f"behind it by {1 - speed:g}"
    return (
        f"--speed {speed:g}: emulated time runs {speed:g} times as fast as the wall clock, so "
        "the times of its runs and events (created_at, finished_at, occurred_at) move "
        f"{drift} s per second; signatures of run events use the wall clock."
    )


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
    plans = plans_from(args, emulator)
    secret = route_events(emulator, args.events_to) if args.events_to is not None else None
    apply_plans(emulator, plans)
    settings, environ = profile_settings(emulator, secret)
    token_env = env_name(emulator.provider, "token")
    environ = {token_env: emulator.token, **environ}
    name = f"{emulator.provider}-emulator"
    stop = asyncio.Event()
    with _stop_on_signals(stop):
        async with emulator.serve(host=args.host, port=args.port) as base_url:
            profile = toml_snippet(name, emulator, base_url, settings, token_env)
            if output.json:
                output.line(
                    {
                        "provider": emulator.provider,
                        "base_url": base_url,
                        "token": emulator.token,
                        "settings": emulator.client_settings(),
                        "target": emulator.default_target,
                        "events_to": args.events_to,
                        "webhook_secret": secret,
                        "speed": args.speed,
                        "environment": environ,
                        "profile": profile,
                    }
                )
            else:
                out = output.out
                out.print(f"{emulator.provider} emulator serving at {base_url}", markup=False)
                out.print(f"token: {emulator.token}", markup=False)
                out.print(f"target: {emulator.default_target}", markup=False)
                if secret is not None:
                    out.print(f"run events to: {args.events_to}", markup=False)
                    out.print(f"webhook secret: {secret}", markup=False)
                out.print("\n# runbridge.toml", markup=False)
                out.print(profile, markup=False)
                out.print("\n# in your shell", markup=False)
                for key, val in environ.items():
                    out.print(f"export {key}={shlex.quote(val)}", markup=False)
                out.file.flush()
            _notes(output, emulator, args, plans, name)
            await stop.wait()
    output.note(f"{emulator.provider} emulator stopped", style="dim")
    return OK


def _notes(
    output: Output, emulator: Emulator, args: argparse.Namespace, plans: Sequence[Plan], name: str
) -> None:
    if args.speed != 1:
        output.note(speed_note(args.speed), style="yellow")
    if plans:
        output.note(plans_note(emulator, plans), style="dim")
    listen = args.events_to and listen_command(name, emulator.provider, args.events_to)
    if listen:
        output.note(f"Receive its run events: {listen}", style="dim")
    output.note(
        f"Ready: runbridge --profile {name} list --target default. Stop with Ctrl+C.",
        style="dim",
    )
