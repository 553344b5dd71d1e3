"""``runbridge listen``: receive a provider's run events and print the verified ones."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
from collections.abc import Iterator
from typing import Any

from runbridge import EventReceiver, RunClient, RunEvent

from .exits import INTERRUPTED, OK
from .records import iso, run_to_dict
from .render import Output, status_text

LIMITS = ("header_timeout", "body_timeout", "callback_timeout", "max_connections")
"""``EventReceiver`` limits ``listen`` passes on when the command line gives them
(``--header-timeout S`` and so on); the receiver's defaults otherwise."""


def event_to_dict(event: RunEvent) -> dict[str, object]:
    """A verified event as one JSON object."""
    return {
        "provider": event.provider,
        "event_id": event.id,
        "type": event.type,
        "occurred_at": iso(event.occurred_at),
        "run": run_to_dict(event.run),
    }


async def listen(client: RunClient, args: argparse.Namespace, output: Output) -> int:
    """Serve ``POST /<provider>`` until SIGINT (exit 130) or SIGTERM (exit 0), printing
    each verified event."""
    limits: dict[str, Any] = {
        name: value for name in LIMITS if (value := getattr(args, name, None)) is not None
    }
    receiver = EventReceiver(client, tolerance=args.tolerance, **limits)

    def show(event: RunEvent) -> None:
        if output.json:
            output.line(event_to_dict(event))
            return
        line = status_text(event.run)
        line.append(f"  {event.run.ref}  {event.type}  {event.id}", style="")
        output.out.print(line)
        output.out.file.flush()

    receiver.on_event(show)
    stop = asyncio.Event()
    with _stop_on_signals(stop) as caught:
        async with receiver.serve(args.host, args.port) as url:
            endpoint = f"{url}{client.provider}"
            if output.json:
                output.line({"listening": endpoint})
            output.note(f"Receiving {client.provider} run events at {endpoint}. Stop with Ctrl+C.")
            await stop.wait()
    # Ctrl+C is an interruption (130, as for every command); SIGTERM is how a service
    # manager stops a server, and a clean stop.
    return INTERRUPTED if caught[:1] == [signal.SIGINT] else OK


@contextlib.contextmanager
def _stop_on_signals(stop: asyncio.Event) -> Iterator[list[int]]:
    """Set ``stop`` on SIGINT or SIGTERM; yields the signals caught, in order."""
    loop = asyncio.get_running_loop()
    caught: list[int] = []

    def catch(sig: int) -> None:
        caught.append(sig)
        stop.set()

    handled = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, catch, sig)
        except (NotImplementedError, RuntimeError):  # pragma: no cover - Windows
            continue  # Ctrl+C still arrives as KeyboardInterrupt: exit 130
        handled.append(sig)
    try:
        yield caught
    finally:
        for sig in handled:
            loop.remove_signal_handler(sig)
